package middleware

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
)

// The request state is the admitted path's one allocation, whose size showed
// in the benchmark (512 B cost about 4 % of CPU time, and the bytes set how
// often the GC runs); it is kept in the 112 B size class (208 B with the IETF
// fields): 80 B (160 B) before the header values got []string arrays of
// their own, which costs about 2 % in BenchmarkMiddleware.
func TestReqStateSize(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(reqState{}), uintptr(112))
	assert.LessOrEqual(t, unsafe.Sizeof(reqStateIETF{}), uintptr(208))
}

// Cached header values fill line-aligned size classes: at 48 B, the load of
// the value every request reads took 12 % of the -cpu 2 middleware profile
// (its line shared, presumably, with an object another core keeps writing).
func TestCachedValueLines(t *testing.T) {
	var values valueCache
	var policies policyCache
	assert.Equal(t, uintptr(64), unsafe.Sizeof(*values.slots[0].Load()))
	assert.Equal(t, uintptr(128), unsafe.Sizeof(*policies.slots[0].Load()))
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
			l, err := limiter.New(limiter.Plan{Name: "a", Credits: 1 << 40, Concurrency: 1 << 20,
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
// nothing else (its Content-Type and nosniff values live in the scratch too).
func TestRefusedPathAllocs(t *testing.T) {
	for _, opts := range [][]Option{nil, {WithIETFHeaders("credits")}} {
		l, err := limiter.New(limiter.Plan{Name: "a", Credits: 1, Concurrency: 1 << 20,
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
		assert.LessOrEqual(t, allocs, 1.0)
		assert.Equal(t, http.StatusTooManyRequests, w.code)
		assert.Equal(t, "nosniff", w.h.Get("X-Content-Type-Options"))
		assert.Equal(t, "1", w.h.Get(HeaderLimit))
		assert.NotEmpty(t, w.h.Get(HeaderRetryAfter))
	}
}

// admit writes what the admitted path writes.
func admit(h http.Header, cfg *headerConfig, c *valueCaches, s limitState, rem *admittedValues, rl *ietfValues) {
	writeAdmitted(h, cfg, c, t0, s, rem)
	if cfg.ietf {
		writeAdmittedIETF(h, cfg, c, t0, s, rl)
	}
}

// The admitted path's writers write exactly what the general one does, for
// both reset forms, with and without the IETF fields, at any width, and
// allocate nothing once the LIMIT, RESET and policy values are cached (unless
// REMAINING has more than 16 digits or RateLimit more than 56 bytes).
func TestWriteAdmitted(t *testing.T) {
	long := "a-policy-name-much-longer-than-the-default"
	for _, cfg := range []headerConfig{{}, {epochReset: true}, {ietf: true, policy: "credits"},
		{ietf: true, epochReset: true, policy: long}} {
		var c valueCaches
		for _, s := range []limitState{
			{limit: 10, remaining: 9, used: 1, reset: t0.Add(90 * time.Second), window: 24 * time.Hour},
			{limit: 10, remaining: 5, used: 5, reset: t0.Add(90 * time.Second), window: time.Hour},                // exactly half used: no credits field
			{limit: 10, remaining: 4, used: 6, reset: t0.Add(1500 * time.Millisecond)},                            // credits remaining sent, no window
			{limit: 10, remaining: -3, used: 13, reset: t0.Add(-time.Hour), window: time.Millisecond},             // negative remaining, reset past
			{limit: 1 << 40, remaining: 1, used: 1<<40 - 1, reset: t0.Add(1e6 * time.Hour)},                       // credits remaining sent
			{limit: 999_999_999_999_999, remaining: 1, used: 999_999_999_999_998, reset: t0.Add(time.Second)},     //
			{limit: math.MaxInt64, remaining: math.MaxInt64, reset: t0.Add(math.MaxInt64), window: math.MaxInt64}, // widest values
			{limit: math.MaxInt64, remaining: 1, used: math.MaxInt64 - 1, reset: t0.Add(math.MaxInt64)},
			{limit: math.MaxInt64, remaining: 9_999_999_999_999_999, used: math.MaxInt64 - 9_999_999_999_999_999, reset: t0.Add(time.Hour)}, // the widest that fits
			{limit: 0, remaining: 0, reset: t0},
		} {
			want := http.Header{}
			writeLimitHeaders(want, &cfg, t0, s, nil)
			h := http.Header{}
			admit(h, &cfg, &c, s, new(admittedValues), new(ietfValues))
			assert.Equal(t, want, h, "%+v %+v", cfg, s)

			rems, rls := make([]admittedValues, 101), make([]ietfValues, 101)
			i := 0
			allocs := testing.AllocsPerRun(100, func() {
				clear(h)
				admit(h, &cfg, &c, s, &rems[i], &rls[i])
				i++
			})
			wantAllocs := 0.0
			if s.remaining >= 1e16 { // more digits than admittedValues holds
				wantAllocs++
			}
			if cfg.ietf && len(want.Get(HeaderRateLimit)) > len(ietfValues{}.buf) {
				wantAllocs++
			}
			assert.Equal(t, wantAllocs, allocs, "%+v %+v", cfg, s)
			assert.Equal(t, want, h, "cached: %+v %+v", cfg, s)
		}
	}
}

// Policies that share a cache slot evict each other and stay right.
func TestPolicyCacheCollisions(t *testing.T) {
	var c policyCache
	for round := range 3 {
		for limit := int64(0); limit < 100; limit += 3 {
			for _, w := range []time.Duration{0, time.Second, time.Hour, 24 * time.Hour} {
				v := c.get("p", limit, w)
				require.Equal(t, string(appendPolicy(nil, "p", limit, w)), v, "round %d", round)
			}
		}
	}
}

// Cached values are shared between responses, which must not see each
// other's changes.
func TestWriteAdmittedShared(t *testing.T) {
	var c valueCaches
	s := limitState{limit: 10, remaining: 2, used: 8, reset: t0.Add(time.Minute)}
	a, b := http.Header{}, http.Header{}
	writeAdmitted(a, &headerConfig{}, &c, t0, s, new(admittedValues))
	writeAdmitted(b, &headerConfig{}, &c, t0, s, new(admittedValues))
	require.Equal(t, a, b)
	a.Add(HeaderLimit, "x")
	a.Add(HeaderReset, "y")
	a.Add(HeaderRemaining, "z")
	a.Set(HeaderCreditsRemaining, "w")
	assert.Equal(t, []string{"10", "x"}, a.Values(HeaderLimit))
	assert.Equal(t, []string{"2", "z"}, a.Values(HeaderRemaining))
	assert.Equal(t, http.Header{"X-Ratelimit-Limit": {"10"}, "X-Ratelimit-Remaining": {"2"},
		"X-Ratelimit-Reset": {"60"}, "X-Api-Credits-Remaining": {"2"}}, b)
	c2 := http.Header{}
	writeAdmitted(c2, &headerConfig{}, &c, t0, s, new(admittedValues))
	assert.Equal(t, b, c2, "the cache is unchanged")

	// Writing into the slices in place (append to [:0], or by index) used
	// to rewrite the cached value for every later response.
	d := http.Header{}
	writeAdmitted(d, &headerConfig{}, &c, t0, s, new(admittedValues))
	d[keyLimit] = append(d[keyLimit][:0], "tampered")
	d[keyReset][0] = "tampered"
	d[keyRemaining][0] = "tampered"
	c3 := http.Header{}
	writeAdmitted(c3, &headerConfig{}, &c, t0, s, new(admittedValues))
	assert.Equal(t, b, c3, "an in-place write reached another response")

	cfg := headerConfig{ietf: true, policy: "credits"}
	e, f := http.Header{}, http.Header{}
	writeAdmittedIETF(e, &cfg, &c, t0, s, new(ietfValues))
	e[keyRateLimitPolicy][0] = "tampered"
	writeAdmittedIETF(f, &cfg, &c, t0, s, new(ietfValues))
	assert.Equal(t, `"credits";q=10`, f.Get(HeaderRateLimitPolicy))
}

// A value cache miss (many tenants, each with its own reset) costs one
// allocation; a hit none.
func TestValueCacheAllocs(t *testing.T) {
	var c valueCache
	n := int64(0)
	miss := testing.AllocsPerRun(1000, func() { n += 1000; _ = c.get(1e12 + n) })
	assert.Equal(t, 1.0, miss)
	hit := testing.AllocsPerRun(1000, func() { _ = c.get(1e12 + n) })
	assert.Zero(t, hit)
}

// Values that share a cache slot evict each other and stay right.
func TestValueCacheCollisions(t *testing.T) {
	var c valueCache
	for round := range 3 {
		for n := int64(-100); n < 1000; n += 7 {
			v := c.get(n)
			require.Equal(t, strconv.FormatInt(n, 10), v, "round %d", round)
		}
	}
}

// A status beyond int32 (which net/http refuses anyway) is not wrapped into
// a 5xx or a 2xx.
func TestWriterHugeStatus(t *testing.T) {
	w := &responseWriter{ResponseWriter: &benchWriter{h: http.Header{}}}
	w.WriteHeader(1<<32 + 500)
	assert.Equal(t, int32(math.MaxInt32), w.status)
}
