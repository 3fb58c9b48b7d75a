package client_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/profile/zoho"
)

// BenchmarkSavingOverhead is what the saving rules cost a call they do not
// apply to, beside the same Transport without rules: a GET of a route no
// rule names, a write (POST) of such a route while caching is on (it is
// checked against the cached paths), and a GET of a named route from an
// integration the rules leave out.
func BenchmarkSavingOverhead(b *testing.B) {
	rules := map[string][]client.Option{
		"none":     nil,
		"coalesce": {client.WithCoalescing(client.CoalesceRule{Route: "GET /crm/big", Integrations: []string{"other"}})},
		"cache":    {client.WithCaching(client.CacheRule{Route: "GET /crm/big", TTL: time.Minute, Integrations: []string{"other"}})},
		"batch":    {client.WithBatching(client.BatchRule{Route: "POST /crm/{module}", Integrations: []string{"other"}})},
	}
	rules["all"] = append(append(append([]client.Option{}, rules["coalesce"]...), rules["cache"]...), rules["batch"]...)
	reqs := []struct{ name, method, path string }{
		{"get-unnamed", http.MethodGet, "/crm/Leads"},
		{"post-unnamed", http.MethodPost, "/crm/bulk"},
		{"get-named-other-integration", http.MethodGet, "/crm/big"},
	}
	ctx := client.WithIntegration(context.Background(), "sync")
	for _, rq := range reqs {
		for _, name := range []string{"none", "coalesce", "cache", "batch", "all"} {
			b.Run("req="+rq.name+"/rules="+name, func(b *testing.B) {
				opts := append([]client.Option{client.WithCosts(costs(b)),
					client.WithPlan(limiter.Plan{Credits: 1 << 40, Concurrency: 1 << 20, SubConcurrency: map[string]int64{"bulk": 1 << 20}}),
					client.WithIntegrations(client.Integration{Name: "sync"}, client.Integration{Name: "other"})}, rules[name]...)
				tr, err := client.New(newBenchRT(), opts...)
				if err != nil {
					b.Fatal(err)
				}
				defer tr.Close(context.Background())
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					r, _ := http.NewRequestWithContext(ctx, rq.method, "http://api.test"+rq.path, nil)
					for pb.Next() {
						resp, err := tr.RoundTrip(r)
						if err != nil || resp.StatusCode != 200 {
							b.Fatal(err)
						}
						_ = resp.Body.Close()
					}
				})
			})
		}
	}
}

// BenchmarkSavingMatch times the match alone (what the rules add before a
// call they do not apply to goes out as it would without them), with every
// rule of the Zoho profile on: nine cached routes, every GET route
// coalesced, three batched routes. A read of a route no rule names costs a
// map lookup; a write is also checked against the cached and coalesced
// paths. Every POST under /crm/v8/ is below a coalesced route (GET
// /crm/v8/{module}), so it counts as a write there (COQL included): the
// write row is one to another version's path, which no rule watches.
func BenchmarkSavingMatch(b *testing.B) {
	tr, err := client.New(nil, client.WithCosts(zohoCosts(b)), client.WithPlan(zohoPlan(b)),
		client.WithCaching(zoho.CacheRules("v8", time.Hour)...), client.WithCoalescing(zoho.CoalesceRules("v8")...),
		client.WithBatching(zoho.BatchRules("v8", 0)...))
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close(context.Background())
	for _, tc := range []struct{ name, method, path string }{
		{"read-unnamed", "GET", "/crm/v8/Leads/7/Attachments"},
		{"write-unnamed", "POST", "/crm/v7/coql"},
	} {
		b.Run("req="+tc.name, func(b *testing.B) {
			r, _ := http.NewRequest(tc.method, "https://crm.test"+tc.path, strings.NewReader("{}"))
			p, err := zohoCosts(b).Match(r)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if tr.SavingMatch(r, &p) {
					b.Fatal("matched")
				}
			}
		})
	}
}

func zohoCosts(tb testing.TB) *cost.Table {
	ct, err := zoho.CostTable()
	if err != nil {
		tb.Fatal(err)
	}
	return ct
}

func zohoPlan(tb testing.TB) limiter.Plan {
	p, err := zoho.Edition("enterprise", 10)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}
