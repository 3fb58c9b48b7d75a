package bench

import (
	"net/http"
	"testing"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/middleware"
)

// Ours in the middleware row: middleware.New at default options over a
// default limiter (benchPlan), the route priced at one credit, and the tenant
// keyed by client IP as the peers key their callers, so every row has one key.
// At default options the middleware reads the limiter's coarse clock
// (Limiter.Now), as the keyed rows do; the peers read their own clocks.
func newOursHTTP(tb testing.TB) http.Handler {
	costs, err := cost.NewTable(1, cost.Route{Pattern: "GET /crm/v8/{module}", Cost: 1})
	if err != nil {
		tb.Fatal(err)
	}
	h, err := middleware.New(bare, newOursLimiter(tb), costs, middleware.Keys{Tenant: middleware.ClientIP{}.Key})
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

func init() {
	register("Middleware", impl{
		name:  ours,
		probe: func(tb testing.TB) func(int) error { return serveOnce(newOursHTTP(tb)) },
		run:   func(b *testing.B) { middlewareBench(b, newOursHTTP(b)) },
	})
}
