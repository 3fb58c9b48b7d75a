package middleware

import (
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
)

// The request state is the admitted path's one allocation; growing it past
// the 512 B size class showed in the benchmark (about 4 % of CPU time).
func TestReqStateSize(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(reqState{}), uintptr(512))
}

func TestAdmittedPathAllocs(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		max  float64
	}{
		{"default", nil, 1}, // the request state
		{"ietf", []Option{WithIETFHeaders("credits")}, 1}, // the larger state, with the full header scratch inside
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := limiter.New(limiter.Plan{Name: "a", BaseCredits: 1 << 40, Concurrency: 1 << 20,
				SubConcurrency: map[string]int64{"bulk": 1 << 20}})
			require.NoError(t, err)
			now := time.Now()
			h, err := New(bareHandler, l, testCosts(t), append([]Option{WithClock(func() time.Time { return now })}, tc.opts...)...)
			require.NoError(t, err)
			r := httptest.NewRequest("GET", "/crm/Leads", nil)
			r.RemoteAddr = "192.0.2.1:4711"
			w := &benchWriter{h: http.Header{}}
			allocs := testing.AllocsPerRun(200, func() {
				clear(w.h)
				h.ServeHTTP(w, r)
			})
			assert.LessOrEqual(t, allocs, tc.max)
			assert.Equal(t, "1099511627776", w.h.Get(HeaderLimit))
		})
	}
}

// A refusal allocates its scratch (header values and body together) and
// the Content-Type value, and writes the same as before.
func TestRefusedPathAllocs(t *testing.T) {
	for _, opts := range [][]Option{nil, {WithIETFHeaders("credits")}} {
		l, err := limiter.New(limiter.Plan{Name: "a", BaseCredits: 1, Concurrency: 1 << 20,
			SubConcurrency: map[string]int64{"bulk": 1}})
		require.NoError(t, err)
		now := time.Now()
		h, err := New(bareHandler, l, testCosts(t), append([]Option{WithClock(func() time.Time { return now })}, opts...)...)
		require.NoError(t, err)
		r := httptest.NewRequest("GET", "/crm/Leads", nil)
		r.RemoteAddr = "192.0.2.1:4711"
		w := &benchWriter{h: http.Header{}}
		h.ServeHTTP(w, r) // spends the pool
		require.Equal(t, http.StatusOK, w.code)
		allocs := testing.AllocsPerRun(200, func() {
			clear(w.h)
			w.code = 0
			h.ServeHTTP(w, r)
		})
		assert.LessOrEqual(t, allocs, 2.0)
		assert.Equal(t, http.StatusTooManyRequests, w.code)
		assert.Equal(t, "1", w.h.Get(HeaderLimit))
		assert.NotEmpty(t, w.h.Get(HeaderRetryAfter))
	}
}

// The admitted path's small scratch holds its four fields at any width and
// writes what the full scratch writes; wider content (the IETF fields) is
// still written right, with allocations.
func TestAdmitScratchFits(t *testing.T) {
	cfg := headerConfig{}
	for _, s := range []limitState{
		{limit: 1 << 40, remaining: 1, reset: t0.Add(1e6 * time.Hour)}, // credits remaining sent
		{limit: 999_999_999_999_999, remaining: 1, reset: t0.Add(time.Second)},
		{limit: math.MaxInt64, remaining: 1, reset: t0.Add(math.MaxInt64)},
	} {
		want := http.Header{}
		writeLimitHeaders(want, &cfg, t0, s, nil)
		scratches := make([]admitScratch, 101)
		i := 0
		h := http.Header{}
		allocs := testing.AllocsPerRun(100, func() {
			writeLimitFields(h, &cfg, t0, s, scratches[i].buf[:], scratches[i].vals[:])
			i++
		})
		assert.Zero(t, allocs, "%+v", s)
		assert.Equal(t, want, h)
		assert.Len(t, h, 4)
	}
	cfg = headerConfig{ietf: true, policy: "credits"}
	s := limitState{limit: 5000, remaining: 100, reset: t0.Add(time.Minute), window: time.Hour}
	want, h := http.Header{}, http.Header{}
	writeLimitHeaders(want, &cfg, t0, s, nil)
	var small admitScratch
	writeLimitFields(h, &cfg, t0, s, small.buf[:], small.vals[:])
	assert.Equal(t, want, h)
}

// A status beyond int32 (which net/http refuses anyway) is not wrapped into
// a 5xx or a 2xx.
func TestWriterHugeStatus(t *testing.T) {
	w := &responseWriter{ResponseWriter: &benchWriter{h: http.Header{}}}
	w.WriteHeader(1<<32 + 500)
	assert.Equal(t, int32(math.MaxInt32), w.status)
}
