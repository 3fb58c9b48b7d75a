package middleware

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func TestWriteLimitHeaders(t *testing.T) {
	tests := []struct {
		name string
		cfg  headerConfig
		s    limitState
		want http.Header
	}{
		{
			name: "under half used",
			s:    limitState{limit: 1000, remaining: 600, reset: t0.Add(90*time.Second + time.Millisecond)},
			want: http.Header{"X-Ratelimit-Limit": {"1000"}, "X-Ratelimit-Remaining": {"600"}, "X-Ratelimit-Reset": {"91"}},
		},
		{
			name: "exactly half used: no credits header",
			s:    limitState{limit: 1000, remaining: 500, reset: t0.Add(time.Second)},
			want: http.Header{"X-Ratelimit-Limit": {"1000"}, "X-Ratelimit-Remaining": {"500"}, "X-Ratelimit-Reset": {"1"}},
		},
		{
			name: "more than half used",
			s:    limitState{limit: 1000, remaining: 499, reset: t0},
			want: http.Header{
				"X-Ratelimit-Limit": {"1000"}, "X-Ratelimit-Remaining": {"499"}, "X-Ratelimit-Reset": {"0"},
				"X-Api-Credits-Remaining": {"499"},
			},
		},
		{
			name: "refused with retry-after and negative remaining clamped",
			s:    limitState{limit: 10, remaining: -3, reset: t0.Add(-time.Second), retryAfter: 1500 * time.Millisecond},
			want: http.Header{
				"X-Ratelimit-Limit": {"10"}, "X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"0"},
				"X-Api-Credits-Remaining": {"0"}, "Retry-After": {"2"},
			},
		},
		{
			name: "epoch reset",
			cfg:  headerConfig{epochReset: true},
			s:    limitState{limit: 10, remaining: 9, reset: t0.Add(2500 * time.Millisecond)},
			want: http.Header{
				"X-Ratelimit-Limit": {"10"}, "X-Ratelimit-Remaining": {"9"},
				"X-Ratelimit-Reset": {itoa(t0.Unix() + 3)},
			},
		},
		{
			name: "ietf fields",
			cfg:  headerConfig{ietf: true, policy: "credits"},
			s:    limitState{limit: 5000, remaining: 4000, reset: t0.Add(60 * time.Second), window: 24 * time.Hour},
			want: http.Header{
				"X-Ratelimit-Limit": {"5000"}, "X-Ratelimit-Remaining": {"4000"}, "X-Ratelimit-Reset": {"60"},
				"Ratelimit-Policy": {`"credits";q=5000;w=86400`}, "Ratelimit": {`"credits";r=4000;t=60`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			writeLimitHeaders(h, &tt.cfg, t0, tt.s, nil)
			assert.Equal(t, tt.want, h)
		})
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestWriteLimitHeadersAllocs(t *testing.T) {
	h := http.Header{}
	cfg := headerConfig{ietf: true, policy: "credits"}
	s := limitState{limit: 5000, remaining: 100, reset: t0.Add(time.Minute), window: time.Hour, retryAfter: time.Second}
	allocs := testing.AllocsPerRun(100, func() { writeLimitHeaders(h, &cfg, t0, s, nil) })
	assert.LessOrEqual(t, allocs, 1.0, "the scratch only: values and slices live in it")
	// With the scratch the admitted path keeps in its request state: nothing,
	// even with every field at its widest.
	s = limitState{limit: 999_999_999_999_999, remaining: 1, reset: t0.Add(1e6 * time.Hour), window: 1e6 * time.Hour,
		retryAfter: 1e6 * time.Hour}
	scratches := make([]headerScratch, 101)
	i := 0
	allocs = testing.AllocsPerRun(100, func() { writeLimitHeaders(h, &cfg, t0, s, &scratches[i]); i++ })
	assert.Zero(t, allocs)
}

func TestParseHeadersRoundTrip(t *testing.T) {
	for _, cfg := range []headerConfig{{}, {epochReset: true}, {ietf: true, policy: "credits"}} {
		s := limitState{limit: 5000, remaining: 1200, reset: t0.Add(42 * time.Second), window: 24 * time.Hour, retryAfter: 3 * time.Second}
		h := http.Header{}
		writeLimitHeaders(h, &cfg, t0, s, nil)
		l, err := ParseHeaders(t0, h)
		require.NoError(t, err)
		assert.Equal(t, int64(5000), l.Limit)
		assert.Equal(t, int64(1200), l.Remaining)
		assert.Equal(t, int64(1200), l.CreditsRemaining)
		assert.True(t, l.Reset.Equal(t0.Add(42*time.Second)), "reset %v", l.Reset)
		assert.Equal(t, 3*time.Second, l.RetryAfter)
		assert.True(t, l.Has(FieldLimit|FieldRemaining|FieldReset|FieldCreditsRemaining|FieldRetryAfter))
		if cfg.ietf {
			assert.Equal(t, 24*time.Hour, l.Window)
		}
	}
}

func TestParseHeadersIETFOnly(t *testing.T) {
	h := http.Header{
		"Ratelimit-Policy": {`"burst";q=100;w=60, "daily";q=1000;w=86400`},
		"Ratelimit":        {`"burst";r=50;t=30`},
	}
	l, err := ParseHeaders(t0, h)
	require.NoError(t, err)
	assert.Equal(t, Limits{Limit: 100, Remaining: 50, Reset: t0.Add(30 * time.Second), Window: time.Minute,
		Present: FieldLimit | FieldRemaining | FieldReset | FieldWindow}, l)
}

func TestParseHeadersErrors(t *testing.T) {
	tests := []struct {
		name    string
		h       http.Header
		bad     string
		present Fields
	}{
		{"negative limit", http.Header{"X-Ratelimit-Limit": {"-1"}, "X-Ratelimit-Remaining": {"3"}}, HeaderLimit, FieldRemaining},
		{"float reset", http.Header{"X-Ratelimit-Reset": {"1.5"}}, HeaderReset, 0},
		{"huge remaining", http.Header{"X-Ratelimit-Remaining": {"99999999999999999999"}}, HeaderRemaining, 0},
		{"bad retry-after", http.Header{"Retry-After": {"soon"}, "X-Ratelimit-Limit": {" 7 "}}, HeaderRetryAfter, FieldLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ParseHeaders(t0, tt.h)
			var he *HeaderError
			require.True(t, errors.As(err, &he), "err %v", err)
			assert.Equal(t, tt.bad, he.Name)
			assert.ErrorIs(t, err, ErrMalformedHeader)
			assert.Equal(t, tt.present, l.Present)
		})
	}
}

func TestParseHeadersRetryAfterDate(t *testing.T) {
	h := http.Header{"Retry-After": {t0.Add(2 * time.Minute).Format(http.TimeFormat)}}
	l, err := ParseHeaders(t0, h)
	require.NoError(t, err)
	assert.Equal(t, 2*time.Minute, l.RetryAfter)
}

func TestParseHeadersMalformedIETFIgnored(t *testing.T) {
	h := http.Header{"Ratelimit-Policy": {`credits;q=5`}, "Ratelimit": {`"x";r=-1;t=abc`}}
	l, err := ParseHeaders(t0, h)
	require.NoError(t, err)
	assert.Zero(t, l.Present)
}

// TestParseIETFHugeSeconds: w and t are sf-integers of up to 15 digits, whose
// product with time.Second used to overflow into a negative window and a
// reset in the past, with no error. Beyond ~146 years they are ignored.
func TestParseIETFHugeSeconds(t *testing.T) {
	for _, tc := range []struct {
		n       string
		present bool
	}{{"10000000000", false}, {"999999999999999", false}, {"4611686018", true}, {"4611686019", false}} {
		h := http.Header{}
		h.Set(HeaderRateLimitPolicy, `"credits";q=100;w=`+tc.n)
		h.Set(HeaderRateLimit, `"credits";r=0;t=`+tc.n)
		l, err := ParseHeaders(t0, h)
		require.NoError(t, err, "malformed IETF fields are ignored, not errors")
		assert.Equal(t, tc.present, l.Has(FieldWindow), "w=%s", tc.n)
		assert.Equal(t, tc.present, l.Has(FieldReset), "t=%s", tc.n)
		if tc.present {
			assert.Positive(t, l.Window, "w=%s", tc.n)
			assert.True(t, l.Reset.After(t0), "t=%s: reset %v", tc.n, l.Reset)
		}
		assert.Equal(t, int64(100), l.Limit)
	}
}

func FuzzParseHeaders(f *testing.F) {
	f.Add("5000", "1200", "42", "1200", "3", `"credits";q=5000;w=86400`, `"credits";r=1200;t=42`)
	f.Add("-1", "x", "1763800000", "", "Sun, 06 Nov 1994 08:49:37 GMT", `"a\"b";q=1`, `"`)
	f.Add("", "", "", "", "", `"burst";q=100;w=60, "daily";q=1000;w=86400`, `"burst";r=50;t=30`)
	f.Add("99999999999999999", " 7 ", "0", "0", "9223372036", `"p";q=999999999999999;w=0`, `;;;=,,`)
	f.Add("", "", "", "", "", `"credits";q=100;w=10000000000`, `"credits";r=0;t=10000000000`)
	f.Add("", "", "", "", "", `"credits";w=999999999999999`, `"credits";t=999999999999999`)
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
		if err != nil && !errors.Is(err, ErrMalformedHeader) {
			t.Fatalf("unexpected error type %v", err)
		}
		if l.Limit < 0 || l.Remaining < 0 || l.CreditsRemaining < 0 || l.RetryAfter < 0 || l.Window < 0 {
			t.Fatalf("negative value parsed: %+v", l)
		}
		if l.Has(FieldWindow) && l.Window <= 0 {
			t.Fatalf("window %v from %q", l.Window, policy)
		}
		if reset == "" && l.Has(FieldReset) && l.Reset.Before(t0) {
			t.Fatalf("reset %v before now from %q", l.Reset, rl)
		}
		// What the writer produces always parses back to the same numbers.
		if l.Has(FieldLimit | FieldRemaining | FieldReset) {
			h2 := http.Header{}
			cfg := headerConfig{ietf: true, policy: "credits"}
			writeLimitHeaders(h2, &cfg, t0, limitState{limit: l.Limit, remaining: l.Remaining, reset: l.Reset, window: l.Window}, nil)
			l2, err := ParseHeaders(t0, h2)
			if err != nil {
				t.Fatalf("own headers do not parse: %v %v", h2, err)
			}
			if l2.Limit != l.Limit || l2.Remaining != l.Remaining {
				t.Fatalf("round trip changed numbers: %+v -> %+v", l, l2)
			}
		}
	})
}

func TestUntilSeconds(t *testing.T) {
	far := t0.Add(math.MaxInt64)
	for _, tc := range []struct{ now, reset time.Time }{
		{t0, t0}, {t0, t0.Add(1)}, {t0, t0.Add(-1)}, {t0.Add(1), t0.Add(time.Second)},
		{t0.Add(999_999_999), t0.Add(time.Second)}, {t0.Add(999_999_999), t0.Add(2 * time.Second)},
		{t0.Add(5e8), t0.Add(3*time.Second + 4e8)}, {t0.Add(5e8), t0.Add(3*time.Second + 6e8)},
		{t0, t0.Add(-90 * time.Minute)}, {t0, t0.Add(24 * time.Hour)}, {t0, far}, {far, t0},
		{t0, t0.Add(1<<32*time.Second + 1)}, {t0, t0.Add(1<<32*time.Second - 1)},
		{time.Unix(0, 0), time.Unix(1<<62, 5)}, {time.Unix(-1<<62, 0), time.Unix(1<<62, 5)},
		{time.Unix(-5, 7e8), time.Unix(-3, 2e8)}, {time.Unix(-5, 2e8), time.Unix(-3, 7e8)},
	} {
		assert.Equal(t, ceilSeconds(tc.reset.Sub(tc.now)), untilSeconds(tc.now, tc.reset), "%v -> %v", tc.now, tc.reset)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		now := time.Unix(0, rnd.Int64()-math.MaxInt64/2)
		reset := now.Add(time.Duration(rnd.Int64N(1<<rnd.IntN(63)) - 1<<rnd.IntN(63)/2))
		require.Equal(t, ceilSeconds(reset.Sub(now)), untilSeconds(now, reset), "%v -> %v", now, reset)
	}
}

func TestCeilSecondsAndHalfUsed(t *testing.T) {
	for d, want := range map[time.Duration]int64{
		-time.Second: 0, 0: 0, 1: 1, time.Second: 1, time.Second + 1: 2,
		math.MaxInt64: int64(math.MaxInt64/time.Second) + 1,
	} {
		assert.Equal(t, want, ceilSeconds(d), "ceilSeconds(%d)", int64(d))
	}
	// X-API-CREDITS-REMAINING appears once more than half the pool is used,
	// also for pools near the int64 limit.
	for _, tc := range []struct {
		limit, remaining int64
		sent             bool
	}{{4, 2, false}, {4, 1, true}, {5, 3, false}, {5, 2, true}, {math.MaxInt64, 1, true}, {math.MaxInt64, math.MaxInt64 / 2, true}, {math.MaxInt64, math.MaxInt64/2 + 1, false}} {
		h := http.Header{}
		writeLimitHeaders(h, &headerConfig{}, t0, limitState{limit: tc.limit, remaining: tc.remaining, reset: t0}, nil)
		_, sent := h[keyCreditsRemaining]
		assert.Equal(t, tc.sent, sent, "limit %d remaining %d", tc.limit, tc.remaining)
	}
}
