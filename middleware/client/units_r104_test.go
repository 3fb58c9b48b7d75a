package client_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/store"
)

// A route of more units than store.MaxUnits is never admitted (cost.Route's
// doc), whatever the plan's cap: under a cap above MaxUnits the Transport
// must fail it at once (LimitError.Never), as it does for more units than
// the cap, not leave it queued (re-polled every 250ms for ever), and the
// calls behind it must not stall behind a waiter that can never go.
func TestUnitsAboveMaxUnitsNever_r104(t *testing.T) {
	const units = store.MaxUnits + 1
	tr := checkedTransport(t, &okRT{}, client.WithCosts(unitCosts(t, units)),
		client.WithPlan(plan(100_000, 2*store.MaxUnits)))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		resp, err := get(ctx, tr, "", "/crm/composite")
		if err == nil {
			err = resp.Body.Close()
		}
		done <- err
	}()
	err := <-done
	var le *client.LimitError
	if !errors.As(err, &le) || !le.Never {
		t.Fatalf("a call of %d units (above store.MaxUnits %d) under a cap of %d: got %v, want a LimitError with Never",
			units, store.MaxUnits, 2*store.MaxUnits, err)
	}
}

// While the pool is learned, every call takes the placeholder's whole cap,
// the most units of any route (at most the plan's cap). A route of more
// units than store.MaxUnits under a plan whose cap is above it makes that
// take one the store always refuses: no call at all goes out, and the plan
// is never learned. A one-unit call must still be sent (and the plan
// learned from its answer).
func TestProbeUnitsAboveMaxUnitsStall_r104(t *testing.T) {
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		return response(r, http.StatusOK, "{}", "X-RateLimit-Limit", "1000"), nil
	})
	tr := checkedTransport(t, base, client.WithCosts(unitCosts(t, store.MaxUnits+1)),
		client.WithPlan(limiter.Plan{Name: "learned", Window: time.Hour, Concurrency: 2 * store.MaxUnits}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := get(ctx, tr, "", "/crm/Leads")
	if err != nil {
		t.Fatalf("a one-unit call while probing, under a route of %d units: %v", store.MaxUnits+1, err)
	}
	_ = resp.Body.Close()
	if got := tr.Limiter().Plan("").Credits; got != 1000 {
		t.Errorf("pool not learned: %d", got)
	}
}

// A call of more units than the plan's cap fails at once (Never) under the
// Transport's own plan (TestTransportUnitsOverCap), so it must while that
// plan is still learned too: the probe takes the whole placeholder cap
// (the plan's cap, 2), and a call of 3 units was sent as if it held them.
func TestUnitsOverCapWhileProbing_r104(t *testing.T) {
	var sent atomic.Int64
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		sent.Add(1)
		return response(r, http.StatusOK, "{}", "X-RateLimit-Limit", "1000"), nil
	})
	tr := checkedTransport(t, base, client.WithCosts(unitCosts(t, 3)),
		client.WithPlan(limiter.Plan{Name: "learned", Window: time.Hour, Concurrency: 2}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := get(ctx, tr, "", "/crm/composite")
	if err == nil {
		_ = resp.Body.Close()
	}
	var le *client.LimitError
	if !errors.As(err, &le) || !le.Never || sent.Load() != 0 {
		t.Errorf("a call of 3 units under a cap of 2, while probing: err %v, sent %d; want a LimitError with Never, not sent",
			err, sent.Load())
	}
}
