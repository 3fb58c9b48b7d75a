package middleware

import (
	"errors"
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
	Name string // the field name as documented, e.g. HeaderReset
}

func (e *HeaderError) Error() string { return ErrMalformedHeader.Error() + " " + e.Name }

// Unwrap returns ErrMalformedHeader.
func (e *HeaderError) Unwrap() error { return ErrMalformedHeader }

// Fields is a set of limit fields found in a response.
type Fields uint8

// The fields [ParseHeaders] reports in Limits.Present.
const (
	FieldLimit Fields = 1 << iota
	FieldRemaining
	FieldReset
	FieldCreditsRemaining
	FieldRetryAfter
	FieldWindow
)

// Limits is what a response says about the caller's credits.
type Limits struct {
	Limit            int64         // pool size
	Remaining        int64         // credits left
	Reset            time.Time     // when the next spent credits come back
	CreditsRemaining int64         // X-API-CREDITS-REMAINING, sent past half the pool
	RetryAfter       time.Duration // from Retry-After, 0 if absent
	Window           time.Duration // from RateLimit-Policy w, 0 if absent
	Present          Fields        // which of the above were found
}

// Has reports whether every field in f was found.
func (l Limits) Has(f Fields) bool { return l.Present&f == f }

// epochCutoff separates a delay from a Unix time in X-RATELIMIT-RESET: no
// credit window is 31 years long, and no reset instant lies before 2001.
const epochCutoff = 1_000_000_000

// ParseHeaders reads the limit fields this package writes, and the same fields
// from a real Zoho (or GitHub-style) server, as seen at now:
//
//   - X-RATELIMIT-LIMIT, X-RATELIMIT-REMAINING, X-API-CREDITS-REMAINING:
//     non-negative integers;
//   - X-RATELIMIT-RESET: seconds until reset, or Unix seconds when at least
//     1e9 (GitHub's convention), turned into an instant relative to now;
//   - Retry-After: delay-seconds or an HTTP-date;
//   - RateLimit-Policy / RateLimit (IETF draft -10): q, w, r and t of the first
//     policy, filling only what the X- fields did not give. Malformed IETF
//     fields are ignored, as the draft requires; so are w and t beyond 2^62
//     nanoseconds (about 146 years), the bound Retry-After has too.
//
// A malformed X- field or Retry-After yields a *[HeaderError] for the first
// such field, while the Limits still hold every field that did parse. It never
// panics on any input.
func ParseHeaders(now time.Time, h http.Header) (Limits, error) {
	var l Limits
	var firstErr error
	fail := func(name string) {
		if firstErr == nil {
			firstErr = &HeaderError{Name: name}
		}
	}
	intField := func(key, name string, f Fields, dst *int64) {
		v, ok := h[key]
		if !ok || len(v) == 0 {
			return
		}
		n, ok := parseCount(v[0])
		if !ok {
			fail(name)
			return
		}
		*dst = n
		l.Present |= f
	}
	intField(keyLimit, HeaderLimit, FieldLimit, &l.Limit)
	intField(keyRemaining, HeaderRemaining, FieldRemaining, &l.Remaining)
	intField(keyCreditsRemaining, HeaderCreditsRemaining, FieldCreditsRemaining, &l.CreditsRemaining)
	var reset int64
	intField(keyReset, HeaderReset, FieldReset, &reset)
	if l.Has(FieldReset) {
		if reset >= epochCutoff {
			l.Reset = time.Unix(reset, 0)
		} else {
			l.Reset = now.Add(time.Duration(reset) * time.Second)
		}
	}
	if v, ok := h[keyRetryAfter]; ok && len(v) > 0 {
		if d, ok := parseRetryAfter(now, v[0]); ok {
			l.RetryAfter = d
			l.Present |= FieldRetryAfter
		} else {
			fail(HeaderRetryAfter)
		}
	}
	parseIETF(now, h, &l)
	return l, firstErr
}

// maxCount bounds parsed integers so that later arithmetic (seconds to
// nanoseconds, sums of credits) cannot overflow.
const maxCount = 1 << 53

// parseCount reads a non-negative decimal integer with optional surrounding
// spaces and no sign.
func parseCount(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 16 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if n > maxCount {
		return 0, false
	}
	return n, true
}

// seconds converts n seconds to a Duration, refusing counts beyond 2^62 ns
// (about 146 years) so that neither the product nor now plus it overflows.
func seconds(n int64) (time.Duration, bool) {
	if n < 0 || n > int64(time.Duration(1<<62)/time.Second) {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

func parseRetryAfter(now time.Time, s string) (time.Duration, bool) {
	if n, ok := parseCount(s); ok {
		return seconds(n)
	}
	t, err := http.ParseTime(strings.TrimSpace(s))
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// parseIETF fills what the X- fields left empty from the first member of
// RateLimit-Policy and RateLimit.
func parseIETF(now time.Time, h http.Header, l *Limits) {
	if v := h.Values(HeaderRateLimitPolicy); len(v) > 0 {
		params := firstMemberParams(v[0])
		if q, ok := sfParam(params, "q"); ok && !l.Has(FieldLimit) {
			l.Limit = q
			l.Present |= FieldLimit
		}
		// w and t beyond seconds' bound are malformed, and so ignored.
		if w, ok := sfParam(params, "w"); ok && w > 0 {
			if d, ok := seconds(w); ok {
				l.Window = d
				l.Present |= FieldWindow
			}
		}
	}
	if v := h.Values(HeaderRateLimit); len(v) > 0 {
		params := firstMemberParams(v[0])
		if r, ok := sfParam(params, "r"); ok && !l.Has(FieldRemaining) {
			l.Remaining = r
			l.Present |= FieldRemaining
		}
		if t, ok := sfParam(params, "t"); ok && !l.Has(FieldReset) {
			if d, ok := seconds(t); ok {
				l.Reset = now.Add(d)
				l.Present |= FieldReset
			}
		}
	}
}

// firstMemberParams returns the parameters of the first list member: the text
// after its item, e.g. `;q=100;w=60` from `"burst";q=100;w=60, "daily";...`.
// It returns "" when the member does not start with an sf-string.
func firstMemberParams(s string) string {
	member, _ := splitQuoted(strings.TrimSpace(s), ',')
	member = strings.TrimSpace(member)
	if len(member) < 2 || member[0] != '"' {
		return ""
	}
	for i := 1; i < len(member); i++ {
		switch member[i] {
		case '\\':
			i++
		case '"':
			return member[i+1:]
		}
	}
	return ""
}

// sfParam finds ;key=integer in params, accepting only a non-negative sf-integer
// (at most 15 digits, RFC 9651).
func sfParam(params, key string) (int64, bool) {
	for rest := params; len(rest) > 0; {
		var p string
		p, rest = splitQuoted(rest, ';')
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || k != key {
			continue
		}
		if len(v) == 0 || len(v) > 15 {
			return 0, false
		}
		return parseCount(v)
	}
	return 0, false
}
