package bench

import (
	"context"
	"testing"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/middleware/client"
)

// Ours in the transport row: client.New over fakeRT with benchPlan as the
// pool, the route priced at one credit by a cost table, and the caller's
// integration named by the request's context, so that the row runs the
// whole admitted path: integration lookup, pricing, the pool's admission,
// the held body and the reconciliation with the headers.
func newOursTransport(tb testing.TB) *client.Transport {
	costs, err := cost.NewTable(1, cost.Route{Pattern: "GET /crm/v8/{module}", Cost: 1})
	if err != nil {
		tb.Fatal(err)
	}
	tr, err := client.New(newFakeRT(), client.WithPlan(benchPlan), client.WithCosts(costs),
		client.WithIntegrations(client.Integration{Name: "sync"}, client.Integration{Name: "forms", Reserve: 5}))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = tr.Close(context.Background()) })
	return tr
}

func init() {
	ctx := client.WithIntegration(context.Background(), "sync")
	register("Transport", impl{
		name:  ours,
		probe: func(tb testing.TB) func(int) error { return sendOnce(newOursTransport(tb), ctx) },
		run:   func(b *testing.B) { transportBench(b, newOursTransport(b), ctx) },
	})
}
