package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkOverhead measures what the gateway adds to a request beside the
// proxying itself: pricing, the limiter's decision, usage statistics, limit
// headers and metrics, with the upstream replaced by a handler that writes
// nothing (Bare is that handler alone).
func BenchmarkOverhead(b *testing.B) {
	nop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	b.Run("Bare", func(b *testing.B) { benchServe(b, nop) })
	b.Run("Gateway", func(b *testing.B) {
		g, err := New(effective(b, "upstream: http://127.0.0.1:1\nplan: {edition: enterprise, credits: 1000000000000, concurrency: 100000}\n"), quiet(), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = g.Close(context.Background()) }) // b.Context is done by now
		g.current.Load().proxy = nop
		benchServe(b, g)
	})
}

func benchServe(b *testing.B, h http.Handler) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest(http.MethodGet, "/crm/v8/Leads", nil)
		r.RemoteAddr = "192.0.2.1:1234"
		r.Header.Set("X-Client-Id", "app")
		w := &discard{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			h.ServeHTTP(w, r)
		}
	})
}

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}
