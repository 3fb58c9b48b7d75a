package client_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/creditgate/creditgate/middleware/client"
)

// A call above the server's whole pool gets its 403 by "cost": the server
// never took its credits (the middleware refuses it before any take). The
// client's statistics must not count the call's 50 credits as spent
// (IntegrationStats.Credits: "credits spent (taken, less refunds)"), as
// they do not for a 429, which is refunded.
func TestCostAbovePoolNotCountedSpent_r104(t *testing.T) {
	a := newAPI(t, plan(20, 3))
	tr, err := client.New(a.srv.Client().Transport, client.WithPlan(plan(1000, 3)), client.WithCosts(costs(t)),
		client.WithBodyTracking(), client.WithIntegrations(client.Integration{Name: "sync"}))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close(context.Background())
	r, err := http.NewRequestWithContext(client.WithIntegration(context.Background(), "sync"),
		http.MethodGet, a.srv.URL+"/crm/big", nil) // 50 credits, a pool of 20
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(r)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", resp.StatusCode)
	}
	if got := stat(tr, "sync").Credits; got != 0 {
		t.Errorf("a call the server refused by cost (403, no credits taken) counted as %d credits spent, want 0", got)
	}
}
