package bench

import (
	"context"
	"testing"
	"time"

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

// savingsIdle is ours with the saving rules of issue #19 on (coalescing and
// caching of a metadata route, batching of record inserts), none of which
// applies to the row's GET: what they cost a call they do not apply to.
const savingsIdle = ours + "-savings-idle"

func newOursTransportSavings(tb testing.TB) *client.Transport {
	costs, err := cost.NewTable(1, cost.Route{Pattern: "GET /crm/v8/{module}", Cost: 1},
		cost.Route{Pattern: "GET /crm/v8/settings/fields", Cost: 1},
		cost.Route{Pattern: "POST /crm/v8/{module}", Pricer: cost.RecordsCost("data", 10, 10, 1<<20)})
	if err != nil {
		tb.Fatal(err)
	}
	tr, err := client.New(newFakeRT(), client.WithPlan(benchPlan), client.WithCosts(costs),
		client.WithIntegrations(client.Integration{Name: "sync"}, client.Integration{Name: "forms", Reserve: 5}),
		client.WithCoalescing(client.CoalesceRule{Route: "GET /crm/v8/settings/fields"}),
		client.WithCaching(client.CacheRule{Route: "GET /crm/v8/settings/fields", TTL: time.Hour}),
		client.WithBatching(client.BatchRule{Route: "POST /crm/v8/{module}"}))
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
	register("Transport", impl{
		name:  savingsIdle,
		probe: func(tb testing.TB) func(int) error { return sendOnce(newOursTransportSavings(tb), ctx) },
		run:   func(b *testing.B) { transportBench(b, newOursTransportSavings(b), ctx) },
	})
}
