package middleware

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// checkLimits fails t unless l, parsed at now, keeps ParseHeaders' promises.
func checkLimits(t *testing.T, now time.Time, l Limits, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, ErrMalformedHeader) {
		t.Fatalf("unexpected error type %v", err)
	}
	for i, p := range []Pool{l.Pool, l.Interval} {
		checkPool(t, now, p)
		if i == 1 && p.Present&(FieldCreditsRemaining|FieldRetryAfter) != 0 {
			t.Fatalf("response-wide fields in the interval pool: %+v", p)
		}
	}
	if l.RetryAfter < 0 || l.RetryAfter > maxHorizon || (!l.Has(FieldRetryAfter) && l.RetryAfter != 0) {
		t.Fatalf("retry-after %v (present %v)", l.RetryAfter, l.Has(FieldRetryAfter))
	}
	if l.CreditsRemaining < 0 || (!l.Has(FieldCreditsRemaining) && l.CreditsRemaining != 0) {
		t.Fatalf("credits remaining %d", l.CreditsRemaining)
	}
	sawPool := l.Pool.Present&^FieldRetryAfter|l.Interval.Present != 0
	if sawPool != (l.Dialects != 0) {
		t.Fatalf("dialects %v for pools %+v", l.Dialects, l)
	}
	n, more, ok := l.Available(now)
	if n < 0 || (!ok && n != 0) || (!more.IsZero() && more.Before(now)) {
		t.Fatalf("Available: %d %v %v from %+v", n, more, ok, l)
	}
}

func checkPool(t *testing.T, now time.Time, p Pool) {
	t.Helper()
	for _, v := range []struct {
		f Fields
		n int64
	}{{FieldLimit, p.Limit}, {FieldRemaining, p.Remaining}, {FieldUsed, p.Used}} {
		if v.n < 0 || v.n > maxCount || (!p.Has(v.f) && v.n != 0) {
			t.Fatalf("count %d (field %b, present %b)", v.n, v.f, p.Present)
		}
	}
	// Used is derived only when Remaining <= Limit: the server may report
	// more remaining than the limit (add-on credits).
	if p.Has(FieldLimit|FieldUsed) && !p.Has(FieldRemaining) ||
		p.Has(FieldLimit|FieldRemaining) && p.Remaining <= p.Limit && !p.Has(FieldUsed) {
		t.Fatalf("used or remaining not derived: %+v", p)
	}
	if p.Has(FieldReset) != !p.Reset.IsZero() || (p.Has(FieldReset) && (p.Reset.Before(now) || p.Reset.After(now.Add(maxHorizon)))) {
		t.Fatalf("reset %v at now %v (present %v)", p.Reset, now, p.Has(FieldReset))
	}
	if p.Has(FieldWindow) != (p.Window != 0) || p.Window < 0 || p.Window > maxHorizon {
		t.Fatalf("window %v (present %v)", p.Window, p.Has(FieldWindow))
	}
	if next, ok := p.NextReset(now); ok && (next.Before(now) || next.After(now.Add(maxHorizon))) {
		t.Fatalf("next reset %v", next)
	}
}

func FuzzParseHeaders(f *testing.F) {
	f.Add("5000", "1200", "42", "1200", "3", `"credits";q=5000;w=86400`, `"credits";r=1200;t=42`)
	f.Add("-1", "x", "1763800000", "", "Sun, 06 Nov 1994 08:49:37 GMT", `"a\"b";q=1`, `"`)
	f.Add("", "", "", "", "", `"burst";q=100;w=60, "daily";q=1000;w=86400`, `"burst";r=50;t=30`)
	f.Add("99999999999999999", " 7 ", "0", "0", "9223372036", `"p";q=999999999999999;w=0`, `;;;=,,`)
	f.Add("", "", "", "", "", `"credits";q=100;w=10000000000`, `"credits";r=0;t=10000000000`)
	f.Add("", "", "", "", "", `"credits";w=999999999999999`, `"credits";t=999999999999999`)
	f.Add("5,5", "4, 5", "1795343400", "3", "31622400", `"d";q=9;w=31622400, "s";q=1;w=1`, `"s";r=0;t=1, "d";r=9`)
	f.Fuzz(func(t *testing.T, limit, remaining, reset, credits, retry, policy, rl string) {
		h := http.Header{}
		set := func(k, v string) {
			if v != "" {
				h[k] = []string{v}
			}
		}
		set(keyLimit, limit)
		set(keyRemaining, remaining)
		set(keyReset, reset)
		set(keyCreditsRemaining, credits)
		set(keyRetryAfter, retry)
		set(keyRateLimitPolicy, policy)
		set(keyRateLimit, rl)
		l, err := ParseHeaders(t0, h)
		checkLimits(t, t0, l, err)
		// What the writer produces always parses back to the same numbers.
		if l.Has(FieldLimit | FieldRemaining | FieldReset) {
			h2 := http.Header{}
			cfg := headerConfig{ietf: true, policy: "credits"}
			writeLimitHeaders(h2, &cfg, t0, limitState{limit: l.Limit, remaining: l.Remaining, reset: l.Reset, window: l.Window}, nil)
			l2, err := ParseHeaders(t0, h2)
			if err != nil {
				t.Fatalf("own headers do not parse: %v %v", h2, err)
			}
			if l2.Limit != l.Limit || l2.Remaining != l.Remaining || !l2.Reset.Equal(l.Reset) {
				t.Fatalf("round trip changed numbers: %+v -> %+v", l, l2)
			}
		}
	})
}

// FuzzParseHeaderBlock drives every dialect at once from a header block of
// "Name: value" lines (names repeat, canonicalize and collide as net/http
// makes them), seeded with each dialect's examples.
func FuzzParseHeaderBlock(f *testing.F) {
	for _, tc := range dialectExamples {
		f.Add(tc.block)
	}
	for _, s := range []string{
		"X-RateLimit-Limit: 5000\nx-ratelimit-limit: 5000\nX-RATELIMIT-REMAINING: 1\nX-RATELIMIT-REMAINING: 2",
		"X-HubSpot-RateLimit-Interval-Milliseconds: 99999999999999\nX-HubSpot-RateLimit-Max: -1\nX-HubSpot-RateLimit-Secondly: 3",
		"Sforce-Limit-Info: api-usage=9007199254740992/9007199254740992, api-usage=9007199254740992/9007199254740992",
		"Sforce-Limit-Info: api-usage=1/2\nX-HubSpot-RateLimit-Daily: 7\nRateLimit: \"a\";r=1;t=31622400\nRetry-After: 0",
		"RateLimit-Policy: \"a\";q=1;w=2, \"b\";q=3;w=1, \"c\";q=4, \"d\";q=5, \"e\";q=6\nRateLimit: \"e\";r=0, \"a\";r=1",
		"X-RateLimit-Reset: 999999999\nX-RateLimit-Resource: \xff\nRetry-After: Sun, 06 Nov 1994 08:49:37 GMT",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, block string) {
		h := headerBlock(block)
		before := h.Clone()
		l, err := ParseHeaders(t0, h)
		checkLimits(t, t0, l, err)
		if !reflect.DeepEqual(before, h) {
			t.Fatalf("the header changed: %v -> %v", before, h)
		}
		if l2, err2 := ParseHeaders(t0, h); !reflect.DeepEqual(l, l2) || (err == nil) != (err2 == nil) {
			t.Fatalf("two parses differ: %+v, %+v", l, l2)
		}
	})
}

// FuzzIMFFixdate: the allocation-free date parser accepts only what
// http.ParseTime accepts, with the same instant, and accepts every date
// http.TimeFormat writes.
func FuzzIMFFixdate(f *testing.F) {
	f.Add("Sun, 06 Nov 1994 08:49:37 GMT", int64(0))
	f.Add("Sun, 29 Feb 2028 23:59:59 GMT", int64(-62135596800))
	f.Add("Mon, 29 Feb 2027 00:00:00 GMT", int64(253402300799))
	f.Add("Sun, 31 Nov 2026 10:01:00 GMT", int64(t0Epoch))
	f.Add("sun, 06 nov 1994 08:49:37 gmt", int64(951782400))
	f.Add("Xyz, 06 Nov 1994 24:60:60 GMT", int64(-1))
	f.Fuzz(func(t *testing.T, s string, unix int64) {
		if got, ok := parseIMFFixdate(s); ok {
			want, err := http.ParseTime(s)
			if err != nil || !got.Equal(want) {
				t.Fatalf("%q: %v, http.ParseTime %v %v", s, got, want, err)
			}
		}
		// Years 0 to 9999, the ones four digits hold.
		tm := time.Unix(unix%253402300800, 0).UTC()
		if tm.Year() < 0 {
			return
		}
		formatted := tm.Format(http.TimeFormat)
		if got, ok := parseIMFFixdate(formatted); !ok || !got.Equal(tm) {
			t.Fatalf("%q: %v %v, want %v", formatted, got, ok, tm)
		}
	})
}

// hostileHeader has RateLimit and Retry-After fields of about n bytes each:
// n/4 list members followed by n/2 spaces, and n/32 Retry-After lines after
// a first one padded with n/2 spaces.
func hostileHeader(n int) http.Header {
	retry := []string{"5" + strings.Repeat(" ", n/2)}
	for range n / 32 {
		retry = append(retry, "6")
	}
	return http.Header{
		keyRateLimit:  {strings.Repeat("x,", n/4) + `"a";r=1` + strings.Repeat(" ", n/2)},
		keyRetryAfter: retry,
	}
}
