package client_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware/client"
)

// unitCosts: GET /crm/{module} 1 credit and one unit, GET /crm/composite 1
// credit and units units of the application's concurrency cap.
func unitCosts(t testing.TB, units int64) *cost.Table {
	ct, err := cost.NewTable(1,
		cost.Route{Pattern: "GET /crm/{module}", Cost: 1},
		cost.Route{Pattern: "GET /crm/composite", Cost: 1, Units: units},
	)
	require.NoError(t, err)
	return ct
}

// The Transport takes a route's units from its concurrency gate: a call of
// 3 units fills a cap of 3, and waits for the units of the calls before it.
func TestTransportUnits(t *testing.T) {
	clk := newClock()
	tr := checkedTransport(t, &okRT{}, client.WithClock(clk), client.WithCosts(unitCosts(t, 3)),
		client.WithBodyTracking(), client.WithPlan(plan(100, 3)))
	ff := client.WithFailFast(context.Background())
	comp, err := get(context.Background(), tr, "", "/crm/composite")
	require.NoError(t, err)
	_, err = get(ff, tr, "", "/crm/Leads")
	var le *client.LimitError
	require.ErrorAs(t, err, &le, "a call beside 3 units held of 3")
	assert.Equal(t, client.ReasonConcurrency, le.Reason)
	assert.False(t, le.Never)
	require.NoError(t, comp.Body.Close())

	lead, err := get(context.Background(), tr, "", "/crm/Leads")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		resp, err := get(context.Background(), tr, "", "/crm/composite")
		if err == nil {
			err = resp.Body.Close()
		}
		done <- err
	}()
	eventually(t, "the composite call queued", func() bool { return tr.Waiters() == 1 })
	select {
	case err := <-done:
		t.Fatalf("3 units admitted beside 1 held of 3: %v", err)
	default:
	}
	require.NoError(t, lead.Body.Close())
	require.NoError(t, <-done)
}

// A call of more units than the plan's cap could never be admitted: it
// fails at once (Never) rather than wait forever, under the Transport's own
// plan or a shared limiter's lowered since; the others go on.
func TestTransportUnitsOverCap(t *testing.T) {
	l, err := limiter.New(plan(100, 3))
	require.NoError(t, err)
	defer l.Close(context.Background())
	for _, tr := range []*client.Transport{
		checkedTransport(t, &okRT{}, client.WithCosts(unitCosts(t, 3)), client.WithPlan(plan(100, 2))),
		checkedTransport(t, &okRT{}, client.WithCosts(unitCosts(t, 3)), client.WithLimiter(l)),
	} {
		require.NoError(t, l.SetPlan("", plan(100, 2)))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = get(ctx, tr, "", "/crm/composite")
		cancel()
		var le *client.LimitError
		require.ErrorAs(t, err, &le, "a call of 3 units under a cap of 2: %v", err)
		assert.True(t, le.Never)
		assert.Equal(t, client.ReasonConcurrency, le.Reason)
		assert.False(t, errors.Is(err, context.DeadlineExceeded))
		mustGet(t, tr, "", "/crm/Leads")
	}
}

// While the pool is still to be learned the Transport lets one call out at
// a time, whatever its units: a composite call first is not held forever
// by the placeholder's cap of 1.
func TestTransportUnitsWhileLearning(t *testing.T) {
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		return response(r, http.StatusOK, "{}", "X-RateLimit-Limit", "1000"), nil
	})
	tr := checkedTransport(t, base, client.WithCosts(unitCosts(t, 5)),
		client.WithPlan(limiter.Plan{Name: "learned", Window: time.Hour, Concurrency: 5}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 2 { // the first while learning, the second under the learned plan
		resp, err := get(ctx, tr, "", "/crm/composite")
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
	}
	assert.Equal(t, int64(1000), tr.Limiter().Plan("").Credits)
}
