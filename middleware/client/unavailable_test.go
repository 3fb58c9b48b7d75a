package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/store/memory"
)

// failClosed refuses every Take as the Redis store does with Redis
// unreachable in FailClosed mode: ReasonUnavailable, the plan's size, no
// figures of the pool's use, its cooldown as RetryAfter.
type failClosed struct{ *memory.Store }

func (s failClosed) Take(now time.Time, req *store.Request, plans store.PlanFunc, _ *memory.Lease, d *store.Decision) {
	p := plans(req.Tenant)
	*d = store.Decision{Cost: req.Credits, Limit: p.Credits, Window: p.WindowLength(), Reset: now,
		Reason: store.ReasonUnavailable, RetryAfter: 5 * time.Second}
}

// A server whose store cannot decide (this project's middleware over a
// fail-closed Redis store) refuses a call: the client must not take that
// for the pool being spent. The 429 said X-RATELIMIT-REMAINING 0, and the
// Transport, which reconciles with every refusal's headers, charged its
// whole pool as spent by others: one blip of the server's Redis locked
// every client out for a window.
func TestServerStoreUnavailableSpendsNothing(t *testing.T) {
	p := plan(100, 5)
	l, err := limiter.New(p, limiter.WithStore[memory.Lease](failClosed{memory.New()}))
	require.NoError(t, err)
	h, err := middleware.New(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), l, costs(t))
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		_ = l.Close(context.Background())
	})

	tr := checkedTransport(t, srv.Client().Transport, client.WithPlan(p), client.WithCosts(costs(t)),
		client.WithRetry(client.RetryPolicy{MaxAttempts: 1}))
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/crm/Leads", nil)
	require.NoError(t, err)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Zero(t, tr.Stats().External, "credits booked as spent by others")
	// A call of half the pool, which fails fast rather than wait: the
	// client has no reason to refuse it for credits.
	ff := client.WithFailFast(context.Background())
	req, err = http.NewRequestWithContext(ff, http.MethodGet, srv.URL+"/crm/big", nil)
	require.NoError(t, err)
	resp, err = tr.RoundTrip(req)
	var le *client.LimitError
	if errors.As(err, &le) {
		t.Errorf("the client refused a call of 50 credits itself: %v", le)
	}
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
