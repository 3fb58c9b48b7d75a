package client_test

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

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

// A server that sends the refusal of a call above its whole pool as a 429
// (its by "cost", as TestClassifyCostAbovePool reads it): no wait admits
// the call, so it must be sent once, as a 403 by cost is, not retried as a
// transient failure (a retry budget that would allow it, so that the
// budget does not hide it).
func TestCostAbovePool429NotRetried_r104(t *testing.T) {
	var sent atomic.Int64
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		sent.Add(1)
		return response(r, http.StatusTooManyRequests,
			`{"type":"about:blank","title":"Too Many Requests","status":429,"by":"cost","cost":50,"limit":20,"remaining":20}`,
			"Content-Type", "application/problem+json"), nil
	})
	tr := checkedTransport(t, base, client.WithPlan(plan(1000, 3)), client.WithCosts(costs(t)),
		client.WithRetry(client.RetryPolicy{BudgetFloor: 1000, Backoff: time.Millisecond, MaxBackoff: time.Millisecond}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := get(ctx, tr, "", "/crm/big")
	if err == nil {
		_ = resp.Body.Close()
	}
	if n := sent.Load(); n != 1 {
		t.Errorf("a 429 by cost (a call above the whole pool) sent %d times, want once (err %v)", n, err)
	}
}
