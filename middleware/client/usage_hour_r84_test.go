package client_test

import (
	"context"
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
