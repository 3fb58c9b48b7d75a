package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/profile/zoho"
)

// A call of 5 units (a composite) to a server whose plan caps the
// application at 3, from a client configured for a larger cap (another
// edition): the server's 403 by units says no release admits it. The
// client sends it once, does not retry it, and fails it as Never (as it
// fails a call above its own cap), with the server's 403 as Status; the
// call's credit is given back, and it is no 429. So with the server's
// default bodies and with Zoho's (LIMIT_EXCEEDED, details.by units).
func TestUnitsAboveServerCapNotRetried(t *testing.T) {
	for _, bodies := range []middleware.ErrorBodies{nil, zoho.ErrorBodies{}} {
		ct, err := cost.NewTable(1,
			cost.Route{Pattern: "GET /crm/composite", Cost: 1, Units: 5},
			cost.Route{Pattern: "GET /crm/{module}", Cost: 1})
		require.NoError(t, err)
		l, err := limiter.New(plan(100, 3))
		require.NoError(t, err)
		t.Cleanup(func() { _ = l.Close(context.Background()) })
		var counters middleware.Counters
		opts := []middleware.Option{middleware.WithCounters(&counters)}
		if bodies != nil {
			opts = append(opts, middleware.WithErrorBodies(bodies))
		}
		h, err := middleware.New(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), l, ct, opts...)
		require.NoError(t, err)
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)

		tr := checkedTransport(t, srv.Client().Transport, client.WithPlan(plan(1000, 10)), client.WithCosts(ct),
			client.WithBodyTracking(), client.WithIntegrations(client.Integration{Name: "sync"}),
			client.WithRetry(client.RetryPolicy{BudgetFloor: 1000, Backoff: time.Millisecond, MaxBackoff: time.Millisecond}))
		ctx, cancel := context.WithTimeout(client.WithIntegration(context.Background(), "sync"), 5*time.Second)
		r, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/crm/composite", nil)
		require.NoError(t, err)
		resp, err := tr.RoundTrip(r)
		cancel()
		if err == nil {
			_ = resp.Body.Close()
			t.Fatalf("bodies %T: a 403 by units answered with status %d, want a *client.LimitError", bodies, resp.StatusCode)
		}
		var le *client.LimitError
		require.True(t, errors.As(err, &le), "bodies %T: %v", bodies, err)
		assert.True(t, le.Never, "bodies %T: %v", bodies, err)
		assert.Equal(t, client.ReasonConcurrency, le.Reason)
		assert.Equal(t, http.StatusForbidden, le.Status)
		assert.True(t, le.RetryAt.IsZero())
		assert.EqualValues(t, 1, counters.Refused.Load(), "bodies %T: sent once", bodies)
		s := stat(tr, "sync")
		assert.Zero(t, s.Retries)
		assert.Zero(t, s.Throttled, "not a 429")
		assert.Zero(t, s.Credits, "the server took no credit")
		assert.EqualValues(t, 1, s.Refused[client.ReasonConcurrency])
	}
}

// A server that sends the refusal of a call above its concurrency cap as a
// 429 (its by "units"): no release admits the call, so it is sent once, not
// retried as a full cap is (a retry budget that would allow it).
func TestUnitsAboveCap429NotRetried(t *testing.T) {
	var sent atomic.Int64
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		sent.Add(1)
		return response(r, http.StatusTooManyRequests,
			`{"type":"about:blank","title":"Too Many Requests","status":429,"by":"units","cost":1,"units":5,"limit":3}`,
			"Content-Type", "application/problem+json"), nil
	})
	tr := checkedTransport(t, base, client.WithPlan(plan(1000, 10)), client.WithCosts(costs(t)),
		client.WithRetry(client.RetryPolicy{BudgetFloor: 1000, Backoff: time.Millisecond, MaxBackoff: time.Millisecond}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := get(ctx, tr, "", "/crm/Leads")
	if err == nil {
		_ = resp.Body.Close()
	}
	assert.EqualValues(t, 1, sent.Load(), "a 429 by units sent more than once (err %v)", err)
}
