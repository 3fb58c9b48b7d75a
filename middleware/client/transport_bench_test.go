package client_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware/client"
)

// benchRT answers every request with 200, an empty body and the limit
// headers a Zoho-style server sends (one shared, read-only header map).
type benchRT struct{ h http.Header }

func newBenchRT() *benchRT {
	return &benchRT{h: http.Header{"X-Ratelimit-Limit": {"1099511627776"}, "X-Ratelimit-Remaining": {"1099511627776"},
		"X-Ratelimit-Reset": {"900"}}}
}

func (b *benchRT) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: b.h, Body: io.NopCloser(eof{}), Request: r}, nil
}

type eof struct{}

func (eof) Read([]byte) (int, error) { return 0, io.EOF }

// roundTrips sends requests through rt in parallel and closes their bodies.
func roundTrips(b *testing.B, rt http.RoundTripper, ctx context.Context) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://api.test/crm/Leads", nil)
		for pb.Next() {
			resp, err := rt.RoundTrip(r)
			if err != nil || resp.StatusCode != 200 {
				b.Fatal(err)
			}
			_ = resp.Body.Close()
		}
	})
}

// BenchmarkRoundTrip is the admitted path: a big pool, no waiting, one
// integration named by the context, next to the bare transport.
func BenchmarkRoundTrip(b *testing.B) {
	ctx := client.WithIntegration(context.Background(), "sync")
	b.Run("impl=bare", func(b *testing.B) { roundTrips(b, newBenchRT(), ctx) })
	for _, every := range []time.Duration{client.DefaultReconcileEvery, 0} {
		b.Run(fmt.Sprintf("impl=creditgate/reconcile=%v", every), func(b *testing.B) {
			tr, err := client.New(newBenchRT(), client.WithPlan(limiter.Plan{Credits: 1 << 40, Concurrency: 1 << 20}),
				client.WithIntegrations(client.Integration{Name: "sync"}), client.WithReconcileEvery(every))
			if err != nil {
				b.Fatal(err)
			}
			defer tr.Close(context.Background())
			roundTrips(b, tr, ctx)
		})
	}
}
