package middleware

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/creditgate/creditgate/internal/jsonstr"
)

// Values of the "by" member of error bodies: which limit a response is about.
const (
	ByCredits        = "credits"
	ByConcurrency    = "concurrency"
	BySubConcurrency = "sub_concurrency"
	// ByTenants: the server tracks as many busy tenants as it can; retry soon.
	ByTenants = "tenants"
	// ByUnavailable: the server's store could not decide (a shared store
	// out of reach, failing closed); retry soon. The refusal says nothing
	// of the pool, which the server could not read.
	ByUnavailable = "unavailable"
	// ByCost: the request costs more than the whole credit pool, or than a
	// window of a compound plan holds (Refusal's Cost above its Limit), so
	// no wait admits it: the refusal is a 403 with no Retry-After, and the
	// client must not retry it.
	ByCost = "cost"
	// ByUnits: the request takes more units of its application's
	// concurrency cap than the cap (Refusal's Units above its Limit, the
	// cap; a composite of 5 under a plan capped at 3), or than any store
	// takes (store.MaxUnits), so no release admits it: a 403 with no
	// Retry-After, as for ByCost, and the client must not retry it.
	// Not ByConcurrency with another status, which a client reading the
	// body alone (or one behind a proxy that rewrites the status) would
	// retry as a full cap.
	ByUnits = "units"
	// ByBody: the body is larger than the server reads to price it (413).
	ByBody = "body"
	// ByKey: the tenant or application key is longer than the server accepts
	// (400, see [WithMaxKeyBytes]).
	ByKey = "key"
	// ByBodyBudget: the server holds as many bodies for pricing as it may;
	// retry soon (503, see [WithPricingBudget]).
	ByBodyBudget = "body_budget"
)

// Refusal is what a refusal reports: which limit refused the request, what
// the request would have cost, and when to come back. It is a 429, but for
// By [ByCost] or [ByUnits], a 403: a request above the whole pool or the
// concurrency cap, which never comes back (RetryAfter 0, Reset zero).
type Refusal struct {
	By    string // ByCredits, ByConcurrency, BySubConcurrency, ByTenants, ByUnavailable, ByCost or ByUnits
	Class string // the route's API class, "" if none
	Cost  int64  // the credits the refused request would have cost
	Units int64  // for ByUnits, the units of the concurrency cap the request takes; 0 otherwise
	// Limit is the credit pool (meaningful for ByCredits); for ByCost, the
	// limit the cost exceeds; for ByUnits, the concurrency cap the Units
	// exceed.
	Limit      int64
	Remaining  int64         // credits left, never below 0 (meaningful for ByCredits and ByCost)
	Reset      time.Time     // when credits come back; zero if unknown
	RetryAfter time.Duration // as sent in Retry-After, which rounds it up to whole seconds; 0 for ByCost
}

// Final reports whether no wait admits the refused request: By [ByCost] or
// [ByUnits], sent as a 403 with no Retry-After, which a client must not
// retry. Bodies tell it apart here, so that a new such By changes one place.
func (f Refusal) Final() bool { return f.By == ByCost || f.By == ByUnits }

// Failure is an error response other than a refusal: a request the
// middleware cannot meter. (The dashboard's errors use the default shape.)
type Failure struct {
	Status     int           // the HTTP status: 400, 413 or 503
	By         string        // ByBody, ByKey, ByBodyBudget; "" for the others
	Detail     string        // one fixed sentence for people; it never quotes the request
	Limit      int64         // the bound the request passed, in bytes (ByBody, ByKey); 0 if none
	RetryAfter time.Duration // when to retry (ByBodyBudget), as sent in Retry-After; 0 if none
}

// ErrorBodies writes the bodies of the responses the middleware makes itself.
// Set it with [WithErrorBodies]; the default writes RFC 9457 problem details
// (application/problem+json: type, title, status, detail, and the members of
// [Refusal] or [Failure] as by, class, cost, units (ByUnits only), limit,
// remaining, reset_time and retry_after). A vendor's shape lives in its
// profile (profile/zoho).
//
// The methods must be safe for concurrent use. They append to buf, which has
// room for a few hundred bytes, and should not allocate: AppendRefusal runs
// on every 429, and a storm of them is when the server is busiest.
type ErrorBodies interface {
	ContentType() string // the bodies' Content-Type
	AppendRefusal(buf []byte, r Refusal) []byte
	AppendFailure(buf []byte, f Failure) []byte
}

// WithErrorBodies makes the middleware write its 429 and error bodies with b
// instead of the default problem details.
func WithErrorBodies(b ErrorBodies) Option {
	return optionFunc(func(c *config) error {
		if b == nil {
			return fmt.Errorf("%w: nil ErrorBodies", ErrBadOption)
		}
		c.bodies = b
		return nil
	})
}

// problemBodies is the default ErrorBodies: RFC 9457 problem details with the
// type about:blank, whose title is the status phrase; clients tell the
// reasons apart by the by member.
type problemBodies struct{}

func (problemBodies) ContentType() string { return "application/problem+json" }

func (problemBodies) AppendRefusal(buf []byte, f Refusal) []byte {
	// The title, detail and by are this package's constants, plain ASCII:
	// they go in unescaped, which shows on the 429 path.
	if f.Final() {
		buf = append(buf, `{"type":"about:blank","title":"Forbidden","status":403,"detail":"`...)
	} else {
		buf = append(buf, `{"type":"about:blank","title":"Too Many Requests","status":429,"detail":"`...)
	}
	buf = append(buf, refusalDetail(f.By)...)
	buf = append(buf, `","by":"`...)
	buf = append(buf, f.By...)
	buf = append(buf, '"')
	if f.Class != "" {
		buf = append(buf, `,"class":`...)
		buf = jsonstr.Append(buf, f.Class)
	}
	buf = append(buf, `,"cost":`...)
	buf = strconv.AppendInt(buf, f.Cost, 10)
	if f.By == ByCredits || f.By == ByCost {
		buf = append(buf, `,"limit":`...)
		buf = strconv.AppendInt(buf, f.Limit, 10)
		buf = append(buf, `,"remaining":`...)
		buf = strconv.AppendInt(buf, f.Remaining, 10)
	} else if f.By == ByUnits {
		buf = append(buf, `,"units":`...)
		buf = strconv.AppendInt(buf, f.Units, 10)
		buf = append(buf, `,"limit":`...)
		buf = strconv.AppendInt(buf, f.Limit, 10)
	}
	if !f.Reset.IsZero() {
		buf = append(buf, `,"reset_time":"`...)
		buf = f.Reset.UTC().AppendFormat(buf, time.RFC3339)
		buf = append(buf, '"')
	}
	if f.RetryAfter > 0 {
		buf = append(buf, `,"retry_after":`...)
		buf = strconv.AppendInt(buf, ceilSeconds(f.RetryAfter), 10)
	}
	return append(buf, '}')
}

func (problemBodies) AppendFailure(buf []byte, f Failure) []byte {
	buf = appendProblemHead(buf, f.Status, f.Detail)
	if f.By != "" {
		buf = append(buf, `,"by":`...)
		buf = jsonstr.Append(buf, f.By)
	}
	if f.Limit > 0 {
		buf = append(buf, `,"limit":`...)
		buf = strconv.AppendInt(buf, f.Limit, 10)
	}
	if f.RetryAfter > 0 {
		buf = append(buf, `,"retry_after":`...)
		buf = strconv.AppendInt(buf, ceilSeconds(f.RetryAfter), 10)
	}
	return append(buf, '}')
}

// appendProblemHead opens a problem object with its four standard members.
func appendProblemHead(buf []byte, status int, detail string) []byte {
	buf = append(buf, `{"type":"about:blank","title":`...)
	buf = jsonstr.Append(buf, http.StatusText(status))
	buf = append(buf, `,"status":`...)
	buf = strconv.AppendInt(buf, int64(status), 10)
	buf = append(buf, `,"detail":`...)
	return jsonstr.Append(buf, detail)
}

// refusalDetail is the default body's sentence for a refusal.
func refusalDetail(by string) string {
	switch by {
	case ByCredits:
		return "the API credits for the current window are used up"
	case BySubConcurrency:
		return "too many concurrent calls of this API class"
	case ByTenants:
		return "the server is busy with too many tenants"
	case ByUnavailable:
		return "the server cannot check the limits now"
	case ByCost:
		return "the request costs more credits than the whole pool holds: it can never be admitted"
	case ByUnits:
		return "the request takes more units of the concurrency cap than the cap holds: it can never be admitted"
	default:
		return "too many concurrent calls from this application"
	}
}

// writeFailure sends f in the shape of bodies.
func writeFailure(w http.ResponseWriter, bodies ErrorBodies, f Failure) {
	sc := new(errorScratch) // body and header values in one allocation
	buf := bodies.AppendFailure(sc.body[:0], f)
	h := w.Header()
	setErrorHeaders(h, &sc.json, bodies.ContentType())
	if f.RetryAfter > 0 {
		sc.retry[0] = strconv.FormatInt(ceilSeconds(f.RetryAfter), 10)
		h[keyRetryAfter] = sc.retry[:]
	}
	w.WriteHeader(f.Status)
	_, _ = w.Write(buf)
}

type errorScratch struct {
	json  errorHeaderValues
	retry [1]string
	body  [256]byte
}

// errorHeaderValues is one response's memory for setErrorHeaders: a handler
// (or middleware outside this one) may write into a header's slices, so no
// two responses share one.
type errorHeaderValues struct {
	contentType, noSniff [1]string
}

// setErrorHeaders marks an error response as what it is, which browsers must
// not sniff as anything else (the body quotes request data only escaped, but
// a browser guessing HTML from it is what nosniff forbids).
func setErrorHeaders(h http.Header, vals *errorHeaderValues, contentType string) {
	vals.contentType[0] = contentType
	vals.noSniff[0] = "nosniff"
	h["Content-Type"] = vals.contentType[:]
	h["X-Content-Type-Options"] = vals.noSniff[:]
}
