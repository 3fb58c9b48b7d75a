package middleware

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creditgate/creditgate/limiter"
)

// benchWriter is a reused ResponseWriter: the benchmark measures the
// middleware, not a recorder's allocations.
type benchWriter struct {
	h    http.Header
	code int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }

var bareHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
})

// benchHandler wraps bareHandler with a pool that never runs out.
func benchHandler(b *testing.B, opts ...Option) http.Handler {
	b.Helper()
	l, err := limiter.New(limiter.Plan{Name: "bench", Credits: 1 << 40, Concurrency: 1 << 20,
		SubConcurrency: map[string]int64{"bulk": 1 << 20}})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	h, err := New(bareHandler, l, testCosts(b), append([]Option{WithClock(func() time.Time { return now })}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	return h
}

func benchServe(b *testing.B, h http.Handler, want int) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest("GET", "/crm/Leads", nil)
		r.RemoteAddr = "192.0.2.1:4711"
		r.Header.Set(HeaderClientID, "app")
		w := &benchWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			w.code = 0
			h.ServeHTTP(w, r)
			if w.code != want {
				b.Errorf("status %d, want %d", w.code, want)
				return
			}
		}
	})
}

// BenchmarkBare is the floor: the wrapped handler alone.
func BenchmarkBare(b *testing.B) { benchServe(b, bareHandler, http.StatusOK) }

// BenchmarkMiddleware is the admitted path: price, acquire, headers, the
// wrapped handler, release.
func BenchmarkMiddleware(b *testing.B) { benchServe(b, benchHandler(b), http.StatusOK) }

// BenchmarkMiddlewareIETF adds the RateLimit/RateLimit-Policy fields.
func BenchmarkMiddlewareIETF(b *testing.B) {
	benchServe(b, benchHandler(b, WithIETFHeaders("")), http.StatusOK)
}

// BenchmarkMiddlewarePricedBody is the admitted path of a body-priced route:
// the cost function reads and counts the records, held against the pricing
// budget.
func BenchmarkMiddlewarePricedBody(b *testing.B) {
	h := benchHandler(b)
	const body = `{"data":[{"a":1},{"a":2},{"a":3}]}`
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &benchWriter{h: http.Header{}}
		sr := strings.NewReader(body)
		r := httptest.NewRequest("POST", "/crm/Leads", sr)
		r.RemoteAddr = "192.0.2.1:4711"
		r.Header.Set(HeaderClientID, "app")
		for pb.Next() {
			clear(w.h)
			w.code = 0
			sr.Reset(body)
			r.Body = io.NopCloser(sr)
			h.ServeHTTP(w, r)
			if w.code != http.StatusOK {
				b.Errorf("status %d", w.code)
				return
			}
		}
	})
}

// BenchmarkRefused is the 429 path (a pool of 1 already spent).
func BenchmarkRefused(b *testing.B) {
	l, err := limiter.New(limiter.Plan{Name: "bench", Credits: 1, Concurrency: 1 << 20,
		SubConcurrency: map[string]int64{"bulk": 1}})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	h, err := New(bareHandler, l, testCosts(b), WithClock(func() time.Time { return now }))
	if err != nil {
		b.Fatal(err)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/crm/Leads", nil))
	benchServe(b, h, http.StatusTooManyRequests)
}

func BenchmarkWriteLimitHeaders(b *testing.B) {
	cfg := headerConfig{}
	now := time.Now()
	s := limitState{limit: 50000, remaining: 20000, used: 30000, reset: now.Add(time.Hour)}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		h := http.Header{}
		for pb.Next() {
			writeLimitHeaders(h, &cfg, now, s, new(headerScratch))
		}
	})
}

func BenchmarkClientIP(b *testing.B) {
	c := ClientIP{}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := &http.Request{RemoteAddr: "192.0.2.1:4711", Header: http.Header{}}
		for pb.Next() {
			_ = c.Key(r)
		}
	})
}

// BenchmarkClientIPLongChain: a trusted proxy's X-Forwarded-For of n
// entries; the time per Key should not grow with n.
func BenchmarkClientIPLongChain(b *testing.B) {
	c := ClientIP{TrustedProxies: prefixes("10.0.0.0/8")}
	for _, n := range []int{32, 100_000} {
		r := &http.Request{RemoteAddr: "10.1.1.1:1", Header: http.Header{
			"X-Forwarded-For": {strings.Repeat("203.0.113.1, ", n-1) + "10.0.0.1"}}}
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = c.Key(r)
			}
		})
	}
}

// BenchmarkLimiterShare measures, with the same plan, routes and request as
// BenchmarkMiddleware, the part of the admitted path that belongs to package
// limiter (pricing and Acquire/Release), so that the middleware's own
// overhead is BenchmarkMiddleware minus this minus BenchmarkBare.
func BenchmarkLimiterShare(b *testing.B) {
	l, err := limiter.New(limiter.Plan{Name: "bench", Credits: 1 << 40, Concurrency: 1 << 20,
		SubConcurrency: map[string]int64{"bulk": 1 << 20}})
	if err != nil {
		b.Fatal(err)
	}
	costs := testCosts(b)
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest("GET", "/crm/Leads", nil)
		r.RemoteAddr = "192.0.2.1:4711"
		for pb.Next() {
			p, err := costs.Lookup(r)
			if err != nil {
				b.Error(err)
				return
			}
			t, d := l.Acquire(now, limiter.Request{App: "app", IP: "192.0.2.1", Module: p.Module,
				Method: r.Method, Credits: p.Credits, Class: p.Class})
			if !d.Allowed {
				b.Error("refused")
				return
			}
			t.Release()
		}
	})
}
