package client_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/store"
)

// A learned plan's caller tightens it with an extra window of their own
// (SetPlan on the Transport's limiter, keeping the learned pool). When the
// server's limit next changes, the pool is learned again from the plan in
// the limiter (its SubConcurrency, Window, Name are kept), but its extra
// windows are replaced by WithPlan's (none here): the caller's per-minute
// cap is silently dropped. Before 5f508c0 the limiter's plan's windows
// were kept.
func TestLearnedPlanKeepsCallersExtra_r104(t *testing.T) {
	var limit atomic.Int64
	limit.Store(1000)
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		return response(r, http.StatusOK, "{}", "X-RateLimit-Limit", itoa(limit.Load())), nil
	})
	clk := newClock()
	tr := checkedTransport(t, base, client.WithClock(clk),
		client.WithPlan(limiter.Plan{Name: "learned", Window: time.Hour, Concurrency: 5}))
	_ = mustGet(t, tr, "", "/crm/Leads").Body.Close()
	p := tr.Limiter().Plan("")
	if p.Credits != 1000 {
		t.Fatalf("pool not learned: %d", p.Credits)
	}
	mine := []store.WindowLimit{{Credits: 10, Window: time.Minute}}
	p.Extra = mine
	if err := tr.Limiter().SetPlan("", p); err != nil {
		t.Fatal(err)
	}
	limit.Store(900)
	_ = mustGet(t, tr, "", "/crm/Leads").Body.Close()
	got := tr.Limiter().Plan("")
	if got.Credits != 900 {
		t.Fatalf("new limit not learned: %d", got.Credits)
	}
	if len(got.Extra) != 1 || got.Extra[0] != mine[0] {
		t.Errorf("the caller's extra window %v dropped when the server's limit changed: %v", mine, got.Extra)
	}
}
