package bench

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/didip/tollbooth/v7"
	"github.com/sethvargo/go-limiter/httplimit"
	"github.com/ulule/limiter/v3/drivers/middleware/stdlib"
)

// Peers of the middleware row: each wraps the same bare handler, keyed by one
// caller (the client IP of every request), and every request must be admitted.
// cmd/ratios subtracts impl=bare (the handler alone) to show the overhead.

// recorder is a ResponseWriter reused across requests, so that the row
// measures the middleware rather than httptest.NewRecorder's allocations.
// Its header map is cleared between requests (headers set with Add would
// otherwise pile up).
type recorder struct {
	h    http.Header
	code int
	// Padding, so that the recorders of two goroutines (written on every
	// request) never share a cache line, which 16-byte objects allocated
	// one after the other can: every implementation would pay for it at
	// -cpu 2, more or less from run to run.
	_ [112]byte
}

func (r *recorder) Header() http.Header { return r.h }

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return len(p), nil
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *recorder) reset() {
	clear(r.h)
	r.code = 0
}

// bare is the wrapped handler: it only answers 200.
var bare = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusOK)
})

// newRequest is the request every middleware sees: one caller, one route.
func newRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/crm/v8/Leads", nil)
	r.RemoteAddr = "192.0.2.1:1234"
	return r
}

// serveOnce is the probe of a middleware row.
func serveOnce(h http.Handler) func(int) error {
	return func(int) error {
		w := &recorder{h: http.Header{}}
		h.ServeHTTP(w, newRequest())
		switch w.code {
		case http.StatusOK:
			return nil
		case http.StatusTooManyRequests:
			return errRefused
		}
		return fmt.Errorf("bench: status %d", w.code)
	}
}

// middlewareBench serves one request per op through h with a reused recorder
// and request per goroutine; any status but 200 fails the benchmark.
func middlewareBench(b *testing.B, h http.Handler) {
	var refused atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w, r := &recorder{h: http.Header{}}, newRequest()
		for pb.Next() {
			w.reset()
			h.ServeHTTP(w, r)
			if w.code != http.StatusOK {
				refused.Add(1)
			}
		}
	})
	checkRefused(b, &refused)
}

func newSethvargoHTTP(tb testing.TB) http.Handler {
	m, err := httplimit.NewMiddleware(newSethvargo(tb), httplimit.IPKeyFunc())
	if err != nil {
		tb.Fatal(err)
	}
	return m.Handle(bare)
}

func newUluleHTTP() http.Handler { return stdlib.NewMiddleware(newUlule()).Handler(bare) }

// newTollbooth allows 10^9 requests per second with a burst as large, which
// its real-clock token bucket never drains in a run.
func newTollbooth() http.Handler { return tollbooth.LimitHandler(tollbooth.NewLimiter(1e9, nil), bare) }

func init() {
	register("Middleware", impl{
		name:  "bare",
		probe: func(testing.TB) func(int) error { return serveOnce(bare) },
		run:   func(b *testing.B) { middlewareBench(b, bare) },
	})
	register("Middleware", impl{
		name:  "sethvargo",
		probe: func(tb testing.TB) func(int) error { return serveOnce(newSethvargoHTTP(tb)) },
		run:   func(b *testing.B) { middlewareBench(b, newSethvargoHTTP(b)) },
	})
	register("Middleware", impl{
		name:  "ulule",
		probe: func(testing.TB) func(int) error { return serveOnce(newUluleHTTP()) },
		run:   func(b *testing.B) { middlewareBench(b, newUluleHTTP()) },
	})
	register("Middleware", impl{
		name:  "tollbooth",
		probe: func(testing.TB) func(int) error { return serveOnce(newTollbooth()) },
		run:   func(b *testing.B) { middlewareBench(b, newTollbooth()) },
	})
}
