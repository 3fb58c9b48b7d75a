package client_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/creditgate/creditgate/middleware/client"
)

// The identity word "context" (added for Stripe-Context) also matches
// tracing headers whose value is new on every request: Google Cloud's
// X-Cloud-Trace-Context (set by its OpenTelemetry and OpenCensus
// propagators on every outbound call). They say nothing about whom the
// call acts for, yet each goes into the key, so two identical concurrent
// reads from one caller no longer share one call (and a cached answer is
// never found): coalescing and caching silently stop saving anything.
func TestCoalesceIgnoresTraceContext(t *testing.T) {
	for _, h := range []string{"X-Cloud-Trace-Context"} {
		t.Run(h, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				crm := newCRM(t)
				crm.latency = 50 * time.Millisecond
				tr := newZoho(t, crm, client.WithCoalescing(client.CoalesceRule{Route: recordsRoute}))
				var wg sync.WaitGroup
				for _, v := range []string{"105445aa7843bc8bf206b12000100000/1;o=1", "205445aa7843bc8bf206b12000100000/2;o=1"} {
					wg.Go(func() {
						r, _ := http.NewRequest("GET", "https://crm.test/crm/v8/Deals", nil)
						r.Header.Set("Authorization", "Bearer one-token")
						r.Header.Set(h, v)
						resp, err := tr.RoundTrip(r)
						if assert.NoError(t, err) {
							_ = resp.Body.Close()
						}
					})
				}
				wg.Wait()
				calls, _ := crm.spent()
				assert.Equal(t, 1, calls, "one call: %s differs per request and names nobody", h)
			})
		})
	}
}

// A read with a deadline that joins a flight whose call waits out a
// credits 429's Retry-After (five minutes here) fails at once with a
// *LimitError, as CoalesceRule says ("one that joins it while it waits
// fails at once ... if what it waits for is not back before the joiner's
// deadline") and as the leader itself would with that deadline (call.next:
// a credits refusal whose Retry-After is past the deadline). Only a wait
// in the gate's queue was told to the flight (gate.note): the joiner
// waited out its whole deadline and got context.DeadlineExceeded.
func TestCoalesceFollowerOfRetryAfterFailsAtOnce(t *testing.T) {
	clk := &fakeClock{now: time.Now()} // near the wall clock, which deadlines keep
	var calls atomic.Int64
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		if calls.Add(1) == 1 {
			return response(r, http.StatusTooManyRequests, `{"code":"LIMIT_EXCEEDED"}`, "Retry-After", "300"), nil
		}
		return response(r, http.StatusOK, "{}"), nil
	})
	tr, held := heldTransport(t, base, clk, plan(100, 5),
		client.WithCoalescing(client.CoalesceRule{Route: "GET /crm/{module}"}))

	leadCtx, stopLead := context.WithCancel(context.Background())
	leadDone := make(chan error, 1)
	go func() {
		resp, err := get(leadCtx, tr, "", "/crm/Leads")
		if err == nil {
			_ = resp.Body.Close()
		}
		leadDone <- err
	}()
	eventually(t, "the first call waiting out its Retry-After", func() bool { return clk.pending() > 0 })

	dlCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	resp, err := get(dlCtx, tr, "", "/crm/Leads")
	if err == nil {
		_ = resp.Body.Close()
	}
	took := time.Since(start)
	var le *client.LimitError
	if assert.ErrorAs(t, err, &le, "after %v", took) {
		assert.Equal(t, client.ReasonCredits, le.Reason)
	}
	assert.Less(t, took, time.Second, "at once, not at the deadline")
	stopLead()
	assert.ErrorIs(t, <-leadDone, context.Canceled)
	assert.Equal(t, int64(1), calls.Load())
	assert.Zero(t, held())
}

// For comparison: the same read alone (no flight to join), with the same
// deadline, fails at once on the same refusal.
func TestRetryAfterPastDeadlineFailsAtOnceAlone(t *testing.T) {
	clk := &fakeClock{now: time.Now()}
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		return response(r, http.StatusTooManyRequests, `{"code":"LIMIT_EXCEEDED"}`, "Retry-After", "300"), nil
	})
	tr, held := heldTransport(t, base, clk, plan(100, 5))
	dlCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	_, err := get(dlCtx, tr, "", "/crm/Leads")
	var le *client.LimitError
	if assert.ErrorAs(t, err, &le) {
		assert.True(t, le.Deadline)
		assert.Equal(t, client.ReasonCredits, le.Reason)
	}
	assert.Less(t, time.Since(start), time.Second)
	assert.Zero(t, held())
}

// Guard: followers joining and leaving a queued flight (deadlines that
// fail them at once, cancels, no deadline), with its leader cancelled while
// they wait: every caller returns, the survivors lead a new flight, and
// nothing is left waiting or held (run with -race).
func TestCoalesceQueuedFlightChurn(t *testing.T) {
	clk := &fakeClock{now: time.Now()}
	var calls atomic.Int64
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		return response(r, http.StatusOK, "{}"), nil
	})
	tr, held := heldTransport(t, base, clk, plan(100, 5),
		client.WithCoalescing(client.CoalesceRule{Route: "GET /crm/{module}"}))
	for range 2 { // the pool is spent (50 credits each): back in an hour
		mustGet(t, tr, "", "/crm/big")
	}
	leadCtx, stopLead := context.WithCancel(context.Background())
	leadDone := make(chan error, 1)
	go func() {
		resp, err := get(leadCtx, tr, "", "/crm/Leads")
		if err == nil {
			_ = resp.Body.Close()
		}
		leadDone <- err
	}()
	eventually(t, "the leader queued", func() bool { return tr.Waiters() == 1 })

	var wg sync.WaitGroup
	var limitErrs, others atomic.Int64
	cancels := make([]context.CancelFunc, 0, 30)
	var mu sync.Mutex
	for i := range 30 {
		var ctx context.Context
		var cancel context.CancelFunc
		switch i % 3 {
		case 0:
			ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
		default:
			ctx, cancel = context.WithCancel(context.Background())
		}
		mu.Lock()
		cancels = append(cancels, cancel)
		mu.Unlock()
		wg.Go(func() {
			resp, err := get(ctx, tr, "", "/crm/Leads")
			var le *client.LimitError
			switch {
			case err == nil:
				_ = resp.Body.Close()
				others.Add(1)
			case errors.As(err, &le):
				limitErrs.Add(1)
			default:
				others.Add(1)
			}
		})
	}
	eventually(t, "the deadline followers failed at once", func() bool { return limitErrs.Load() == 10 })
	stopLead() // the leader goes: the others lead a new flight, which waits
	assert.ErrorIs(t, <-leadDone, context.Canceled)
	eventually(t, "a new leader queued", func() bool { return tr.Waiters() == 1 })
	clk.Advance(2 * time.Hour) // the credits come back: the new flight goes
	wg.Wait()
	for _, c := range cancels {
		c()
	}
	assert.Equal(t, int64(20), others.Load())
	// Two to spend the pool, one for the flight (more if a caller came in
	// only after it was answered: the pool has room for all of them).
	assert.GreaterOrEqual(t, calls.Load(), int64(3))
	assert.Zero(t, tr.Waiters())
	assert.Zero(t, held())
}

// A read with a deadline that joined a flight before its call waited in
// the queue (the call was in a 503's backoff) is not told when the call
// then waits there for credits that are not back before the deadline: the
// flight's refusal is read once, at the join, and the follower waits out
// its whole deadline (context.DeadlineExceeded), where one that joined a
// moment later fails at once with a *LimitError.
func TestCoalesceFollowerToldWhenLeaderQueuesLater(t *testing.T) {
	clk := &fakeClock{now: time.Now()} // near the wall clock, which deadlines keep
	var calls atomic.Int64
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		if calls.Add(1) == 1 { // a failure that also says the pool is spent
			return response(r, http.StatusServiceUnavailable, "", "X-RateLimit-Remaining", "0"), nil
		}
		return response(r, http.StatusOK, "{}"), nil
	})
	tr, held := heldTransport(t, base, clk, plan(100, 5),
		client.WithCoalescing(client.CoalesceRule{Route: "GET /crm/{module}"}),
		client.WithRetry(client.RetryPolicy{Retry5xx: true}))

	leadCtx, stopLead := context.WithCancel(context.Background())
	leadDone := make(chan error, 1)
	go func() {
		resp, err := get(leadCtx, tr, "", "/crm/Leads")
		if err == nil {
			_ = resp.Body.Close()
		}
		leadDone <- err
	}()
	eventually(t, "the leader's backoff", func() bool { return clk.pending() > 0 })
	mustGet(t, tr, "", "/crm/Deals") // the credit the 503 refunded: the pool is spent

	dlCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	folDone := make(chan error, 1)
	go func() {
		resp, err := get(dlCtx, tr, "", "/crm/Leads")
		if err == nil {
			_ = resp.Body.Close()
		}
		folDone <- err
	}()
	time.Sleep(100 * time.Millisecond) // the follower joins and waits
	clk.Advance(time.Minute)           // the backoff ends: the leader queues for credits
	eventually(t, "the leader queued", func() bool {
		if calls.Load() > 2 {
			t.Fatalf("the retry was sent: %v", tr.Stats())
		}
		return tr.Waiters() == 1
	})
	err := <-folDone
	took := time.Since(start)
	var le *client.LimitError
	if assert.ErrorAs(t, err, &le, "after %v", took) {
		assert.Equal(t, client.ReasonCredits, le.Reason)
	}
	assert.Less(t, took, time.Second, "once the leader queued, not at the deadline")
	stopLead()
	assert.ErrorIs(t, <-leadDone, context.Canceled)
	assert.Zero(t, held())
}

// Fail-fast reads that share a flight whose call the server refuses for
// credits (a 429 with a Retry-After of five minutes): the leader fails at
// once with a *LimitError (5708a97), which lead takes for a failure of its
// caller's own and does not share, so each follower in turn leads a new
// flight and sends the same call again, into the same refusal: N callers,
// N refused calls, where the flight was to make one.
func TestCoalesceFailFastCreditsRefusalShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		base := rtFunc(func(r *http.Request) (*http.Response, error) {
			calls.Add(1)
			time.Sleep(50 * time.Millisecond)
			return response(r, http.StatusTooManyRequests, `{"code":"LIMIT_EXCEEDED"}`, "Retry-After", "300"), nil
		})
		tr := checkedTransport(t, base, client.WithPlan(plan(100, 5)), client.WithCosts(costs(t)),
			client.WithCoalescing(client.CoalesceRule{Route: "GET /crm/{module}"}))
		ctx := client.WithFailFast(context.Background())
		var wg sync.WaitGroup
		var limitErrs atomic.Int64
		for range 5 {
			wg.Go(func() {
				resp, err := get(ctx, tr, "", "/crm/Leads")
				if err == nil {
					_ = resp.Body.Close()
				}
				var le *client.LimitError
				if errors.As(err, &le) {
					limitErrs.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int64(5), limitErrs.Load())
		assert.Equal(t, int64(1), calls.Load(), "one call for the flight, its refusal shared")
		assert.Equal(t, int64(5), stat(tr, client.DefaultIntegration).Refused[client.ReasonCredits], "each refusal counted")
	})
}
