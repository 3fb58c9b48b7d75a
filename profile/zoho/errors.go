package zoho

import (
	"net/http"
	"strconv"
	"time"

	"github.com/creditgate/creditgate/internal/jsonstr"
	"github.com/creditgate/creditgate/middleware"
)

// Error codes of Zoho's error object, as the middleware writes them with
// [ErrorBodies].
const (
	// CodeTooManyRequests is every refusal's code, as Zoho's 429 carries it
	// for spent credits and for a full concurrency cap alike (the fact
	// sheet, section 5): details.by says which (middleware.ByCredits:
	// retry after the reset time; any other: after a short pause).
	// LIMIT_EXCEEDED, which this package wrote for spent credits, is the
	// code of a composite request's sub-request in Zoho's samples, not of
	// a 429, and a client written for Zoho did not know it.
	CodeTooManyRequests = "TOO_MANY_REQUESTS"
	// CodeLimitExceeded is the code of a 403 for a call that costs more
	// than the whole pool (details.by middleware.ByCost, with its cost and
	// the limit): no wait admits it, so it is not TOO_MANY_REQUESTS, which
	// clients retry. Zoho's samples give LIMIT_EXCEEDED, details {"by":
	// "limit","limit":25}, to a composite sub-request over a fixed size
	// limit, which no retry passes either (the fact sheet, section 5).
	// It is also the code of the 403 for a call that takes more units of
	// its application's concurrency cap than the cap (details.by
	// middleware.ByUnits, with its units and the cap as limit): Zoho's
	// codes name no concurrency limit a call can never fit, and this is
	// the one of a fixed limit no retry passes.
	CodeLimitExceeded = "LIMIT_EXCEEDED"
	// CodeInvalidData: the request's cost could not be computed from it, or
	// its tenant or application key is too long.
	CodeInvalidData = "INVALID_DATA"
	// CodeTooLarge: the body is larger than the cost function reads.
	CodeTooLarge = "REQUEST_ENTITY_TOO_LARGE"
	// CodeUnavailable: the server holds as many bodies for pricing as it may.
	// Not a code of Zoho's published table, which the fact sheet has none for.
	CodeUnavailable = "SERVICE_UNAVAILABLE"
)

// ErrorBody is Zoho's error object, {"code","details","message","status":"error"},
// the shape [ErrorBodies] writes. It is exported so that clients and tests
// can decode it. No field ever repeats request input.
type ErrorBody struct {
	Code    string       `json:"code"`
	Details ErrorDetails `json:"details"`
	Message string       `json:"message"`
	Status  string       `json:"status"`
}

// ErrorDetails says why and until when. Fields a response does not use are
// left out of the JSON.
type ErrorDetails struct {
	By         string `json:"by,omitempty"`          // middleware.ByCredits, ByConcurrency, ...
	Class      string `json:"class,omitempty"`       // the sub-concurrency class, e.g. "complex"
	Cost       *int64 `json:"cost,omitempty"`        // credits the refused request would have cost (refusals only)
	Units      int64  `json:"units,omitempty"`       // units of the concurrency cap the request takes (middleware.ByUnits only)
	Limit      int64  `json:"limit,omitempty"`       // pool size, the concurrency cap (ByUnits), or the body or key limit in bytes
	Remaining  *int64 `json:"remaining,omitempty"`   // credits left (credit refusals only)
	ResetTime  string `json:"reset_time,omitempty"`  // RFC 3339, UTC: when credits come back
	RetryAfter int64  `json:"retry_after,omitempty"` // whole seconds, as in Retry-After
}

// ErrorBodies writes the middleware's 429 and error bodies in Zoho's shape
// ([ErrorBody]): middleware.WithErrorBodies(zoho.ErrorBodies{}).
type ErrorBodies struct{}

var _ middleware.ErrorBodies = ErrorBodies{}

// ContentType is JSON, as Zoho sends.
func (ErrorBodies) ContentType() string { return "application/json; charset=utf-8" }

// AppendRefusal writes a 429, TOO_MANY_REQUESTS for every refusal (spent
// credits, a full concurrency cap, a full store, a store that cannot
// decide), with details.by saying which; or the 403 of a call above the
// whole pool or its concurrency cap, LIMIT_EXCEEDED ([CodeLimitExceeded]).
func (ErrorBodies) AppendRefusal(buf []byte, f middleware.Refusal) []byte {
	buf = append(buf, `{"code":"`...)
	if f.Final() {
		buf = append(buf, CodeLimitExceeded...)
	} else {
		buf = append(buf, CodeTooManyRequests...)
	}
	// By and the message are middleware's and this package's constants,
	// plain ASCII: they go in unescaped, which shows on the 429 path.
	buf = append(buf, `","details":{"by":"`...)
	buf = append(buf, f.By...)
	buf = append(buf, '"')
	if f.Class != "" {
		buf = append(buf, `,"class":`...)
		buf = jsonstr.Append(buf, f.Class)
	}
	buf = append(buf, `,"cost":`...)
	buf = strconv.AppendInt(buf, f.Cost, 10)
	if f.By == middleware.ByCredits || f.By == middleware.ByCost {
		buf = append(buf, `,"limit":`...)
		buf = strconv.AppendInt(buf, f.Limit, 10)
		buf = append(buf, `,"remaining":`...)
		buf = strconv.AppendInt(buf, f.Remaining, 10)
	} else if f.By == middleware.ByUnits {
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
	buf = append(buf, `},"message":"`...)
	buf = append(buf, refusalMessage(f.By)...)
	return append(buf, `","status":"error"}`...)
}

// AppendFailure writes a 400 (INVALID_DATA), 413 (REQUEST_ENTITY_TOO_LARGE)
// or 503 (SERVICE_UNAVAILABLE).
func (ErrorBodies) AppendFailure(buf []byte, f middleware.Failure) []byte {
	buf = append(buf, `{"code":"`...)
	buf = append(buf, failureCode(f.Status)...)
	buf = append(buf, `","details":{`...)
	sep := ""
	if f.By != "" {
		buf = append(buf, `"by":`...)
		buf = jsonstr.Append(buf, f.By)
		sep = ","
	}
	if f.Limit > 0 {
		buf = append(buf, sep...)
		buf = append(buf, `"limit":`...)
		buf = strconv.AppendInt(buf, f.Limit, 10)
		sep = ","
	}
	if f.RetryAfter > 0 {
		buf = append(buf, sep...)
		buf = append(buf, `"retry_after":`...)
		buf = strconv.AppendInt(buf, ceilSeconds(f.RetryAfter), 10)
	}
	buf = append(buf, `},"message":`...)
	buf = jsonstr.Append(buf, f.Detail)
	return append(buf, `,"status":"error"}`...)
}

func refusalMessage(by string) string {
	switch by {
	case middleware.ByCredits:
		return "the API credits for the current window are used up"
	case middleware.BySubConcurrency:
		return "too many concurrent calls of this API class"
	case middleware.ByTenants:
		return "the server is busy with too many organisations"
	case middleware.ByUnavailable:
		return "the server cannot check the API limits now"
	case middleware.ByCost:
		return "the API call costs more credits than the organisation's whole allowance"
	case middleware.ByUnits:
		return "the API call takes more of the application's concurrency limit than the limit holds"
	default:
		return "too many concurrent calls from this application"
	}
}

func failureCode(status int) string {
	switch status {
	case http.StatusRequestEntityTooLarge:
		return CodeTooLarge
	case http.StatusServiceUnavailable:
		return CodeUnavailable
	default:
		return CodeInvalidData
	}
}

// ceilSeconds rounds d up to whole seconds, as Retry-After does.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	return s
}
