package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/middleware/client"
)

// The slot is held until the body is closed, or read to its end, not until
// RoundTrip returns.
func TestSlotHeldUntilBodyClosed(t *testing.T) {
	clk := newClock()
	tr := newTransport(t, &okRT{}, clk, client.WithPlan(plan(100, 1)))
	ff := client.WithFailFast(context.Background())

	resp, err := get(context.Background(), tr, "", "/crm/Leads")
	require.NoError(t, err)
	_, err = get(ff, tr, "", "/crm/Leads")
	var le *client.LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, client.ReasonConcurrency, le.Reason)
	assert.True(t, le.RetryAt.IsZero(), "a slot's return is not predictable")
	assert.Equal(t, int64(1), tr.Stats().OpenBodies)

	_, _ = io.ReadAll(resp.Body) // EOF releases
	assert.Equal(t, int64(0), tr.Stats().OpenBodies)
	resp2, err := get(ff, tr, "", "/crm/Leads")
	require.NoError(t, err)
	require.NoError(t, resp2.Body.Close())
	require.NoError(t, resp.Body.Close()) // closing after EOF releases nothing more
	resp3, err := get(ff, tr, "", "/crm/Leads")
	require.NoError(t, err)
	require.NoError(t, resp3.Body.Close())
	assert.Equal(t, int64(1), stat(tr, client.DefaultIntegration).Refused[client.ReasonConcurrency])
}

// Waiters for the slot are served in FIFO order as bodies close.
func TestSlotWaitersFIFO(t *testing.T) {
	clk := newClock()
	tr := newTransport(t, &okRT{}, clk, client.WithPlan(plan(100, 1)))
	first, err := get(context.Background(), tr, "", "/crm/Leads")
	require.NoError(t, err)

	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			resp, err := get(context.Background(), tr, "", "/crm/Leads")
			if !assert.NoError(t, err) {
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			_ = resp.Body.Close()
		})
		eventually(t, "waiter queued", func() bool { return tr.Waiters() == int64(i+1) })
	}
	require.NoError(t, first.Body.Close())
	wg.Wait()
	assert.Equal(t, []int{0, 1, 2}, order)
	s := stat(tr, client.DefaultIntegration)
	assert.Equal(t, int64(3), s.Waits)
}

// A call waits for its credits and is woken by a timer when they come back;
// no call ever spins.
func TestCreditsWaitWakesOnTimer(t *testing.T) {
	clk := newClock()
	tr := newTransport(t, &okRT{}, clk, client.WithPlan(plan(50, 5)))
	mustGet(t, tr, "", "/crm/big") // the whole pool
	done := make(chan error, 1)
	go func() {
		resp, err := get(context.Background(), tr, "", "/crm/big")
		if err == nil {
			err = resp.Body.Close()
		}
		done <- err
	}()
	eventually(t, "waiter queued with its timer", func() bool { return tr.Waiters() == 1 && clk.pending() == 1 })
	clk.Advance(30 * time.Minute)
	select {
	case err := <-done:
		t.Fatalf("admitted before the credits came back: %v", err)
	default:
	}
	clk.Advance(31 * time.Minute)
	require.NoError(t, <-done)
	assert.Equal(t, int64(0), remaining(tr, clk))
}

// When the credits cannot be back before the context's deadline, the call
// fails at once with a LimitError that says when they return.
func TestDeadlineFailsAtOnce(t *testing.T) {
	clk := newClock()
	tr := newTransport(t, &okRT{}, clk, client.WithPlan(plan(50, 5)))
	mustGet(t, tr, "", "/crm/big")
	ctx, cancel := context.WithDeadline(context.Background(), clk.Now().Add(time.Minute))
	defer cancel()
	_, err := get(ctx, tr, "", "/crm/Leads")
	var le *client.LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, client.ReasonCredits, le.Reason)
	assert.True(t, le.Deadline)
	assert.False(t, le.RetryAt.Before(t0.Add(time.Hour)), "credits return one window after they were spent: %v", le.RetryAt)
	assert.Contains(t, err.Error(), "client: integration")
	assert.Equal(t, int64(0), tr.Waiters())
}

// Cancelling a waiting call's context removes it and gives back everything.
func TestCancelReleasesEverything(t *testing.T) {
	clk := newClock()
	tr := newTransport(t, &okRT{}, clk, client.WithPlan(plan(100, 1)))
	held, err := get(context.Background(), tr, "", "/crm/Leads")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := get(ctx, tr, "", "/crm/Leads")
		done <- err
	}()
	eventually(t, "waiter queued", func() bool { return tr.Waiters() == 1 })
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	assert.Equal(t, int64(0), tr.Waiters())
	require.NoError(t, held.Body.Close())
	assert.Equal(t, int64(99), remaining(tr, clk), "only the call that ran spent credits")
	// The slot is free: a fail-fast call gets it.
	resp, err := get(client.WithFailFast(context.Background()), tr, "", "/crm/Leads")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
}

// A call that costs more than the pool can ever hold for it fails at once.
func TestNeverAdmitted(t *testing.T) {
	clk := newClock()
	tr := newTransport(t, &okRT{}, clk, client.WithPlan(plan(40, 5)))
	_, err := get(context.Background(), tr, "", "/crm/big")
	var le *client.LimitError
	require.ErrorAs(t, err, &le)
	assert.True(t, le.Never)
	assert.Equal(t, client.ReasonCredits, le.Reason)
}

// Requests naming an unknown integration go to the default one, or fail
// with WithStrictIntegrations; neither panics.
func TestUnknownIntegration(t *testing.T) {
	clk := newClock()
	its := client.WithIntegrations(client.Integration{Name: "sync"}, client.Integration{Name: "forms"})
	tr := newTransport(t, &okRT{}, clk, its, client.WithDefaultIntegration("forms"), client.WithPlan(plan(100, 2)))
	mustGet(t, tr, "nobody", "/crm/Leads")
	mustGet(t, tr, "", "/crm/Leads")
	assert.Equal(t, int64(2), stat(tr, "forms").Requests)

	strict := newTransport(t, &okRT{}, clk, its, client.WithStrictIntegrations(), client.WithPlan(plan(100, 2)))
	_, err := get(context.Background(), strict, "nobody", "/crm/Leads")
	assert.ErrorIs(t, err, client.ErrUnknownIntegration)
	mustGet(t, strict, "", "/crm/Leads")
	assert.Equal(t, int64(1), stat(strict, "sync").Requests, "the first is the default")
}

// Bad configurations are errors at construction, never panics later.
func TestConfigErrors(t *testing.T) {
	nan := func() float64 { var z float64; return z / z }()
	cases := map[string][]client.Option{
		"negative quota":      {client.WithIntegrations(client.Integration{Name: "a", Quota: -1})},
		"quota above 100":     {client.WithIntegrations(client.Integration{Name: "a", Quota: 250})},
		"NaN quota":           {client.WithIntegrations(client.Integration{Name: "a", Quota: nan})},
		"reserve 100":         {client.WithIntegrations(client.Integration{Name: "a", Reserve: 100})},
		"reserves over pool":  {client.WithIntegrations(client.Integration{Name: "a", Reserve: 60}, client.Integration{Name: "b", Reserve: 40})},
		"reserve above quota": {client.WithIntegrations(client.Integration{Name: "a", Quota: 5, Reserve: 10})},
		"no name":             {client.WithIntegrations(client.Integration{})},
		"reserved name":       {client.WithIntegrations(client.Integration{Name: client.Outside})},
		"twice":               {client.WithIntegrations(client.Integration{Name: "a"}, client.Integration{Name: "a"})},
		"unknown default":     {client.WithDefaultIntegration("nope")},
		"bad quiet hours":     {client.WithIntegrations(client.Integration{Name: "a", Quiet: &client.QuietHours{From: time.Hour, To: time.Hour}})},
		"pool level":          {client.WithIntegrations(client.Integration{Name: "a", MinPool: 101})},
		"bad plan":            {client.WithPlan(plan(100, 0))},
		"limiter and plan":    {client.WithPlan(plan(100, 1)), client.WithLimiter(mustLimiter(t))},
		"nil limiter":         {client.WithLimiter(nil)},
		"retry attempts":      {client.WithRetry(client.RetryPolicy{MaxAttempts: -1})},
		"retry ratio":         {client.WithRetry(client.RetryPolicy{BudgetRatio: nan})},
		"max hold":            {client.WithMaxHold(0)},
		"nil option":          {nil},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			opts = append([]client.Option{client.WithPlan(plan(100, 2))}, opts...)
			if name == "limiter and plan" {
				opts = opts[1:]
			}
			_, err := client.New(nil, opts...)
			require.Error(t, err)
			assert.ErrorIs(t, err, client.ErrConfig)
		})
	}
	// A cost table naming a class the plan does not cap.
	p := plan(100, 2)
	p.SubConcurrency = nil
	_, err := client.New(nil, client.WithPlan(p), client.WithCosts(costs(t)))
	assert.ErrorIs(t, err, client.ErrConfig)
	// A learned pool with classes cannot know their caps: the plan must say.
	_, err = client.New(nil, client.WithCosts(costs(t)))
	assert.ErrorIs(t, err, client.ErrConfig)
}

// A transport error gives the credits and the slot back.
func TestTransportErrorRefunds(t *testing.T) {
	clk := newClock()
	boom := errors.New("dial: refused")
	tr := newTransport(t, rtFunc(func(*http.Request) (*http.Response, error) { return nil, boom }), clk,
		client.WithPlan(plan(100, 1)))
	_, err := get(context.Background(), tr, "", "/crm/Leads")
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, int64(100), remaining(tr, clk))
	assert.Equal(t, int64(0), stat(tr, client.DefaultIntegration).Credits)
}

// A base transport that panics gives the call's slots and credits back (the
// panic goes on to the caller, who may recover, as net/http's server does
// for a handler), and a coalesced call's followers do not wait for it
// forever.
func TestBasePanicGivesBack(t *testing.T) {
	for _, coalesce := range []bool{false, true} {
		t.Run(fmt.Sprint("coalesce=", coalesce), func(t *testing.T) {
			clk := newClock()
			var panics atomic.Int64
			ok := &okRT{}
			base := rtFunc(func(r *http.Request) (*http.Response, error) {
				if panics.Add(-1) >= 0 {
					panic("base transport")
				}
				return ok.RoundTrip(r)
			})
			opts := []client.Option{client.WithPlan(plan(100, 1))}
			if coalesce {
				opts = append(opts, client.WithCoalescing(client.CoalesceRule{Route: "GET /crm/{module}"}))
			}
			tr := newTransport(t, base, clk, opts...)
			panics.Store(1)
			func() {
				defer func() { assert.NotNil(t, recover(), "the panic reaches the caller") }()
				_, _ = get(context.Background(), tr, "", "/crm/Leads")
			}()
			assert.Equal(t, int64(100), remaining(tr, clk), "credits given back")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			resp, err := get(client.WithFailFast(ctx), tr, "", "/crm/Leads")
			require.NoError(t, err, "the slot was given back, and no flight is left behind")
			require.NoError(t, resp.Body.Close())
		})
	}
}

// A 429 whose body panics when it is read to classify the refusal gives the
// call's slots and credits back too, before the panic reaches the caller.
func TestBasePanicReadingRefusal(t *testing.T) {
	clk := newClock()
	var panics atomic.Int64
	ok := &okRT{}
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		if panics.Add(-1) >= 0 {
			resp := response(r, http.StatusTooManyRequests, "")
			resp.Body = panicBody{}
			return resp, nil
		}
		return ok.RoundTrip(r)
	})
	tr := newTransport(t, base, clk, client.WithPlan(plan(100, 1)))
	panics.Store(1)
	func() {
		defer func() { assert.NotNil(t, recover(), "the panic reaches the caller") }()
		_, _ = get(context.Background(), tr, "", "/crm/Leads")
	}()
	assert.Equal(t, int64(100), remaining(tr, clk), "credits given back")
	resp, err := get(client.WithFailFast(context.Background()), tr, "", "/crm/Leads")
	require.NoError(t, err, "the slot was given back")
	require.NoError(t, resp.Body.Close())
}
