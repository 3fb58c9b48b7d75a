package middleware

import (
	"encoding/json"
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
			s:    limitState{limit: 1000, remaining: 600, used: 400, reset: t0.Add(90*time.Second + time.Millisecond)},
			want: http.Header{"X-Ratelimit-Limit": {"1000"}, "X-Ratelimit-Remaining": {"600"}, "X-Ratelimit-Reset": {"91"}},
		},
		{
			name: "one short of half used: no credits header",
			s:    limitState{limit: 1000, remaining: 501, used: 499, reset: t0.Add(time.Second)},
			want: http.Header{"X-Ratelimit-Limit": {"1000"}, "X-Ratelimit-Remaining": {"501"}, "X-Ratelimit-Reset": {"1"}},
		},
		{
			name: "exactly half used",
			s:    limitState{limit: 1000, remaining: 500, used: 500, reset: t0.Add(time.Second)},
			want: http.Header{
				"X-Ratelimit-Limit": {"1000"}, "X-Ratelimit-Remaining": {"500"}, "X-Ratelimit-Reset": {"1"},
				"X-Api-Credits-Remaining": {"500"},
			},
		},
		{
			name: "more than half used",
			s:    limitState{limit: 1000, remaining: 499, used: 501, reset: t0},
			want: http.Header{
				"X-Ratelimit-Limit": {"1000"}, "X-Ratelimit-Remaining": {"499"}, "X-Ratelimit-Reset": {"0"},
				"X-Api-Credits-Remaining": {"499"},
			},
		},
		{
			name: "refused with retry-after and negative remaining clamped",
			s:    limitState{limit: 10, remaining: -3, used: 13, reset: t0.Add(-time.Second), retryAfter: 1500 * time.Millisecond},
			want: http.Header{
				"X-Ratelimit-Limit": {"10"}, "X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"0"},
				"X-Api-Credits-Remaining": {"0"}, "Retry-After": {"2"},
			},
		},
		{
			name: "epoch reset",
			cfg:  headerConfig{epochReset: true},
			s:    limitState{limit: 10, remaining: 9, used: 1, reset: t0.Add(2500 * time.Millisecond)},
			want: http.Header{
				"X-Ratelimit-Limit": {"10"}, "X-Ratelimit-Remaining": {"9"},
				"X-Ratelimit-Reset": {itoa(t0.Unix() + 3)},
			},
		},
		{
			name: "ietf fields",
			cfg:  headerConfig{ietf: true, policy: "credits"},
			s:    limitState{limit: 5000, remaining: 4000, used: 1000, reset: t0.Add(60 * time.Second), window: 24 * time.Hour},
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
	// X-API-CREDITS-REMAINING appears once half the pool or more is used,
	// also for pools near the int64 limit.
	for _, tc := range []struct {
		limit, remaining int64
		sent             bool
	}{{4, 3, false}, {4, 2, true}, {4, 1, true}, {5, 3, false}, {5, 2, true}, {math.MaxInt64, 1, true}, {math.MaxInt64, math.MaxInt64 / 2, true}, {math.MaxInt64, math.MaxInt64/2 + 1, false}} {
		h := http.Header{}
		writeLimitHeaders(h, &headerConfig{}, t0, limitState{limit: tc.limit, remaining: tc.remaining, used: tc.limit - tc.remaining, reset: t0}, nil)
		_, sent := h[keyCreditsRemaining]
		assert.Equal(t, tc.sent, sent, "limit %d remaining %d", tc.limit, tc.remaining)
	}
}
