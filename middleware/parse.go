package middleware

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"time"
)

// ErrMalformedHeader is wrapped by the [HeaderError] that [ParseHeaders]
// returns for a limit field it cannot read.
var ErrMalformedHeader = errors.New("middleware: malformed limit header")

// HeaderError names the limit field that did not parse. Its message does not
// repeat the value: it came from the other side of the wire.
type HeaderError struct {
	Name string // the field name, e.g. HeaderReset or "Sforce-Limit-Info"
}

func (e *HeaderError) Error() string { return ErrMalformedHeader.Error() + " " + e.Name }

// Unwrap returns ErrMalformedHeader.
func (e *HeaderError) Unwrap() error { return ErrMalformedHeader }

// Fields is a set of limit fields found in a response.
type Fields uint8

// The fields [ParseHeaders] reports in [Pool].Present. FieldCreditsRemaining
// and FieldRetryAfter stand for Limits.CreditsRemaining and
// Limits.RetryAfter, and are set in the main pool's Present only.
const (
	FieldLimit Fields = 1 << iota
	FieldRemaining
	FieldReset
	FieldCreditsRemaining
	FieldRetryAfter
	FieldWindow
	FieldUsed
)

// Dialect is a set of limit header dialects.
type Dialect uint8

// The dialects [ParseHeaders] reads.
const (
	// DialectZoho: X-RATELIMIT-LIMIT/-REMAINING/-RESET with RESET a delay,
	// and X-API-CREDITS-REMAINING; what this package writes (with
	// [WithResetEpoch], it looks like GitHub's).
	DialectZoho Dialect = 1 << iota
	// DialectGitHub: the same X-RateLimit-* fields (HTTP field names are
	// case-insensitive) told apart by X-RateLimit-Used, X-RateLimit-Resource
	// or a reset that is a Unix time (at least 1e9).
	DialectGitHub
	// DialectIETF: RateLimit-Policy and RateLimit, draft-ietf-httpapi-ratelimit-headers-10.
	DialectIETF
	// DialectHubSpot: X-HubSpot-RateLimit-*.
	DialectHubSpot
	// DialectSalesforce: Sforce-Limit-Info.
	DialectSalesforce
)

var dialectNames = [...]string{"zoho", "github", "ietf", "hubspot", "salesforce"}

// String returns the dialects' names joined by "|", or "none".
func (d Dialect) String() string {
	var b strings.Builder
	for i, name := range dialectNames {
		if d&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(name)
		}
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// Pool is one quota as a server reports it. Present says which fields hold a
// value; Used and Remaining are also filled from Limit and the other one when
// the server sends only two of the three (Salesforce sends used/limit).
// Remaining is never negative but may exceed Limit (add-on credits); Used may
// too (Salesforce's bursts past the daily limit).
type Pool struct {
	Limit     int64         // quota per window
	Remaining int64         // what is left of it
	Used      int64         // what is spent of it
	Reset     time.Time     // when more comes back; never before the parse's now
	Window    time.Duration // the window's length, in (0, 366 days]
	Name      string        // the server's name for it: IETF policy, GitHub resource
	Present   Fields        // which of the above hold a value
}

// Has reports whether every field in f holds a value.
func (p Pool) Has(f Fields) bool { return p.Present&f == f }

// NextReset returns when the server says more of the pool comes back: Reset
// when it was sent, else now plus Window, which bounds a rolling or daily
// window from above. ok is false when neither is known.
func (p Pool) NextReset(now time.Time) (t time.Time, ok bool) {
	switch {
	case p.Has(FieldReset):
		return p.Reset, true
	case p.Has(FieldWindow):
		return now.Add(p.Window), true
	}
	return time.Time{}, false
}

// fill sets the fields of p that it lacks and q has.
func (p *Pool) fill(q Pool) {
	take := q.Present &^ p.Present
	if take&FieldLimit != 0 {
		p.Limit = q.Limit
	}
	if take&FieldRemaining != 0 {
		p.Remaining = q.Remaining
	}
	if take&FieldUsed != 0 {
		p.Used = q.Used
	}
	if take&FieldReset != 0 {
		p.Reset = q.Reset
	}
	if take&FieldWindow != 0 {
		p.Window = q.Window
	}
	if p.Name == "" {
		p.Name = q.Name
	}
	p.Present |= take
}

// derive completes Used or Remaining from Limit and the other.
func (p *Pool) derive() {
	switch {
	case p.Has(FieldLimit|FieldRemaining) && !p.Has(FieldUsed) && p.Remaining <= p.Limit:
		p.Used = p.Limit - p.Remaining
		p.Present |= FieldUsed
	case p.Has(FieldLimit|FieldUsed) && !p.Has(FieldRemaining):
		p.Remaining = max(p.Limit-p.Used, 0)
		p.Present |= FieldRemaining
	}
}

// Limits is what a response says about the caller's quotas, in any dialect.
// The embedded Pool is the main one (credits per day or hour); its Present
// also carries FieldCreditsRemaining and FieldRetryAfter. [Limits.Available]
// answers what remains and when more comes back without looking at the
// dialect.
type Limits struct {
	Pool                           // the main pool: the day's or hour's credits
	Interval         Pool          // a shorter pool beside it (HubSpot's 10 s, a second IETF policy)
	CreditsRemaining int64         // X-API-CREDITS-REMAINING, sent from half the allowance used
	RetryAfter       time.Duration // from Retry-After, in [0, 366 days]
	Dialects         Dialect       // the dialects that gave a value
}

// Available returns what the server says may still be spent and when more
// comes back: n is the least Remaining of the pools that report one, 0 while
// a Retry-After runs; more is the latest of the end of Retry-After and the
// NextReset of each pool holding only n, zero if one of those does not say.
// ok is false when the response says nothing about what remains.
func (l Limits) Available(now time.Time) (n int64, more time.Time, ok bool) {
	pools := [2]*Pool{&l.Pool, &l.Interval}
	n = math.MaxInt64
	for _, p := range pools {
		if p.Has(FieldRemaining) {
			n, ok = min(n, p.Remaining), true
		}
	}
	if l.Has(FieldRetryAfter) && l.RetryAfter > 0 {
		n, more, ok = 0, now.Add(l.RetryAfter), true
	}
	if !ok {
		return 0, time.Time{}, false
	}
	for _, p := range pools {
		if !p.Has(FieldRemaining) || p.Remaining != n {
			continue
		}
		t, known := p.NextReset(now)
		if !known {
			return n, time.Time{}, true
		}
		if t.After(more) {
			more = t
		}
	}
	return n, more, true
}

// ParseHeaders reads what a response's header says about the caller's
// quotas, as seen at now, in every dialect a client reconciles with:
//
//   - X-RATELIMIT-LIMIT, -REMAINING, -RESET (Zoho, this package) and
//     X-RateLimit-Limit, -Remaining, -Used, -Reset, -Resource (GitHub): the
//     same fields, since names are case-insensitive. RESET below 1e9 is
//     seconds from now, from 1e9 a Unix time (GitHub's, or [WithResetEpoch]);
//     the response counts as GitHub's when it has -Used, -Resource or an
//     epoch reset, as Zoho's otherwise. X-API-CREDITS-REMAINING (Zoho, from
//     half use) lowers Remaining when it is the lower.
//   - X-HubSpot-RateLimit-Daily, -Daily-Remaining: the Pool (a day);
//     -Max, -Remaining, -Interval-Milliseconds: the Interval, or, without
//     the first two, -Secondly and -Secondly-Remaining (one second).
//   - Sforce-Limit-Info: api-usage=USED/LIMIT, a rolling day; api-bursts,
//     per-app-api-usage and other items are skipped.
//   - RateLimit-Policy and RateLimit (IETF draft -10): members are matched
//     by policy name; of the first two policies counting requests, the
//     longer window is the Pool and the other the Interval (in the order
//     sent when a window is unknown). pk is not read. Malformed members and
//     parameters are ignored, as the draft requires.
//   - Retry-After: delay-seconds or an HTTP-date.
//
// When several dialects describe a pool, each field comes from the first of
// them in this list that gives it. Every value is checked on its own:
// integers are non-negative and at most 2^53, durations and resets at most
// 366 days away; a reset in the past is now. A field sent twice must repeat
// its value. A malformed or absurd value leaves its field absent and, outside
// the IETF fields, yields a *[HeaderError] for the first such field, while
// the Limits still hold every field that did parse. It never panics, takes
// time linear in the header's size, and allocates nothing for well-formed
// fields (an HTTP-date in an obsolete format aside).
func ParseHeaders(now time.Time, h http.Header) (Limits, error) {
	p := parser{now: now, h: h}
	p.xRateLimit()
	p.hubSpot()
	p.salesforce()
	p.ietf()
	p.retryAfter()
	p.l.Pool.derive()
	p.l.Interval.derive()
	return p.l, p.err
}

// parser holds one ParseHeaders call's state.
type parser struct {
	now time.Time
	h   http.Header
	l   Limits
	err error // the first malformed field's
}

func (p *parser) fail(name string) {
	if p.err == nil {
		p.err = &HeaderError{Name: name}
	}
}

// merge adds a dialect's pools to the result, filling only what earlier
// dialects left empty.
func (p *parser) merge(d Dialect, main, interval Pool) {
	if main.Present|interval.Present == 0 {
		return
	}
	p.l.Dialects |= d
	p.l.Pool.fill(main)
	p.l.Interval.fill(interval)
}

// retryAfter reads Retry-After; every line sent must be the same.
func (p *parser) retryAfter() {
	v := p.h[keyRetryAfter]
	if len(v) == 0 {
		return
	}
	first := strings.TrimSpace(v[0]) // once: trimming it per line was quadratic
	for _, s := range v[1:] {
		if strings.TrimSpace(s) != first {
			p.fail(HeaderRetryAfter)
			return
		}
	}
	d, ok := parseRetryAfter(p.now, first)
	if !ok {
		p.fail(HeaderRetryAfter)
		return
	}
	p.l.RetryAfter = d
	p.l.Present |= FieldRetryAfter
}
