package client_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/usage"
)

// Reviewer-84: a call's refund, and its settle to a lower price, count in
// the usage statistics in the hour the call was admitted and recorded
// (usage.Stats.Settle: "in at's hour: the call's"), as the limiter's do
// since place-a. The Transport dated them at the response: a call
// admitted at 9:59:59 that failed with a 500 at 10:00:01 left its call
// and credit in 9:00 and minus the credit in 10:00.
func TestRefundCountsInTheAdmissionsHour(t *testing.T) {
	u := usage.New(48*time.Hour, 10)
	defer func() { _ = u.Close(context.Background()) }()
	clk := newClock()
	clk.Advance(time.Hour - time.Second) // 9:59:59
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		clk.Advance(2 * time.Second) // answered at 10:00:01
		return response(r, 500, ""), nil
	})
	tr := newTransport(t, base, clk, client.WithPlan(plan(100, 2)), client.WithUsage(u),
		client.WithIntegrations(client.Integration{Name: "sync"}))
	resp, err := get(context.Background(), tr, "sync", "/crm/Leads")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	h9 := u.TenantRows(t0, t0.Add(time.Hour))
	if len(h9) != 1 || h9[0].Calls != 1 || h9[0].Credits != 0 {
		t.Errorf("9:00: %+v, want the call, refunded", h9)
	}
	if h10 := u.TenantRows(t0.Add(time.Hour), t0.Add(2*time.Hour)); len(h10) != 0 {
		t.Errorf("10:00: %+v, want nothing", h10)
	}
}

// A call that the shared usage statistics folded into Other as they
// recorded it (DefaultTenants kept, the Transport's tenant not) has its
// refund counted under Other too, even when the tenant gets a row of its
// own before the refund (here a prune makes room and another of the
// tenant's calls makes the row while the server answers): before, the
// refund named the tenant and took the credit from that row.
func TestRefundOfAFoldedCallCountsUnderOther(t *testing.T) {
	u := usage.New(time.Hour, 10)
	defer func() { _ = u.Close(context.Background()) }()
	clk := newClock()
	t1 := t0.Add(time.Hour)
	clk.Advance(time.Hour)
	for i := range usage.DefaultTenants + 1 { // the last one is Other
		u.Record(usage.Event{At: t0, Tenant: fmt.Sprintf("old%d", i), App: "a", Credits: 1})
	}
	u.Record(usage.Event{At: t1, Tenant: "old0", App: "a", Credits: 1}) // the hour's first event
	u.Tenants()                                                         // aggregated: the cap is reached
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		u.Record(usage.Event{At: t1, Tenant: "old1", App: "a", Credits: 1}) // the prune: room
		u.Tenants()
		u.Record(usage.Event{At: t1, Tenant: "acme", App: "sync", Credits: 1}) // acme's row
		return response(r, 500, ""), nil
	})
	tr := newTransport(t, base, clk, client.WithPlan(plan(100, 2)), client.WithUsage(u), client.WithTenant("acme"),
		client.WithIntegrations(client.Integration{Name: "sync"}))
	resp, err := get(context.Background(), tr, "sync", "/crm/Leads")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	for _, c := range u.TenantRows(t1, t1.Add(time.Hour)) {
		switch c.Key {
		case "acme":
			if c != (usage.Count{Key: "acme", Credits: 1, Calls: 1}) {
				t.Errorf("acme's row %+v, want its one call of the row", c)
			}
		case usage.Other:
			if c != (usage.Count{Key: usage.Other, Calls: 1}) {
				t.Errorf("Other's row %+v, want the folded call, refunded", c)
			}
		}
	}
}
