package client_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/creditgate/creditgate/middleware/client"
)

// Headers that make one set of credentials act for someone else keep
// callers apart, as Stripe-Account and the other identity headers do:
// GitLab's Sudo (an admin token acting as a user), Stripe's Stripe-Context
// (the connected account, in API v2 and v1), Sage's X-Business (which of
// the token's businesses). With the same Authorization and a different
// one of these, two concurrent GETs shared one answer: one account's data
// went to a caller acting for another.
func TestCoalesceActingForHeaders(t *testing.T) {
	for _, h := range []string{"Sudo", "Stripe-Context", "X-Business"} {
		t.Run(h, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				crm := newCRM(t)
				crm.latency = 50 * time.Millisecond
				tr := newZoho(t, crm, client.WithCoalescing(client.CoalesceRule{Route: recordsRoute}))
				var wg sync.WaitGroup
				for _, v := range []string{"alice", "bob"} {
					wg.Go(func() {
						r, _ := http.NewRequest("GET", "https://crm.test/crm/v8/Deals", nil)
						r.Header.Set("Authorization", "Bearer admin-token")
						r.Header.Set(h, v)
						resp, err := tr.RoundTrip(r)
						if assert.NoError(t, err) {
							_ = resp.Body.Close()
						}
					})
				}
				wg.Wait()
				calls, _ := crm.spent()
				assert.Equal(t, 2, calls, "one call per %s: the callers act for different accounts", h)
			})
		})
	}
}

// A read held back by its own integration's rules (quiet hours here; a
// quota or a pool level likewise) does not hold back an identical read of
// another integration, which those rules do not apply to: the second
// caller joined the first one's flight and waited for the first
// integration's quiet hours to end (or for its own context), though the
// pool had room and nothing held it.
func TestCoalesceFollowerNotHeldByLeadersRules(t *testing.T) {
	clk := newClock() // 09:00 UTC
	var calls atomic.Int64
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		return response(r, http.StatusOK, "{}"), nil
	})
	tr, held := heldTransport(t, base, clk, plan(100, 5),
		client.WithCoalescing(client.CoalesceRule{Route: "GET /crm/{module}"}),
		client.WithIntegrations(
			client.Integration{Name: "backfill", Quiet: &client.QuietHours{From: 8 * time.Hour, To: 18 * time.Hour}},
			client.Integration{Name: "web"}))

	quietCtx, stopQuiet := context.WithCancel(context.Background())
	quietDone := make(chan error, 1)
	go func() {
		resp, err := get(quietCtx, tr, "backfill", "/crm/Leads")
		if err == nil {
			_ = resp.Body.Close()
		}
		quietDone <- err
	}()
	eventually(t, "the backfill's call held by its quiet hours", func() bool { return tr.Waiters() == 1 })

	webCtx, stopWeb := context.WithCancel(context.Background())
	webDone := make(chan error, 1)
	go func() {
		resp, err := get(webCtx, tr, "web", "/crm/Leads")
		if err == nil {
			_ = resp.Body.Close()
		}
		webDone <- err
	}()
	var webErr error
	select {
	case webErr = <-webDone:
	case <-time.After(2 * time.Second): // wall time: the web call should not wait at all
		stopWeb()
		webErr = <-webDone
		t.Errorf("the web integration's call waited for the backfill's quiet hours (%d calls sent)", calls.Load())
	}
	assert.NoError(t, webErr)
	assert.Equal(t, int64(1), calls.Load(), "the web call sent")
	stopQuiet()
	stopWeb()
	assert.ErrorIs(t, <-quietDone, context.Canceled)
	assert.Zero(t, held())
}

// A fail-fast read (WithFailFast) fails at once with a *LimitError when
// its call would wait, also when an identical read of its integration is
// already waiting: it joined that read's flight and waited with it, until
// its own context ended, the very wait it asked not to make.
func TestCoalesceFailFastFollowerFailsFast(t *testing.T) {
	clk := newClock() // 09:00 UTC
	base := rtFunc(func(r *http.Request) (*http.Response, error) { return response(r, http.StatusOK, "{}"), nil })
	tr, held := heldTransport(t, base, clk, plan(100, 5),
		client.WithCoalescing(client.CoalesceRule{Route: "GET /crm/{module}"}),
		client.WithIntegrations(client.Integration{Name: "backfill",
			Quiet: &client.QuietHours{From: 8 * time.Hour, To: 18 * time.Hour}}))

	waitCtx, stopWait := context.WithCancel(context.Background())
	waitDone := make(chan error, 1)
	go func() {
		resp, err := get(waitCtx, tr, "", "/crm/Leads")
		if err == nil {
			_ = resp.Body.Close()
		}
		waitDone <- err
	}()
	eventually(t, "the first call held by its quiet hours", func() bool { return tr.Waiters() == 1 })

	ffCtx, stopFF := context.WithCancel(client.WithFailFast(context.Background()))
	ffDone := make(chan error, 1)
	go func() {
		resp, err := get(ffCtx, tr, "", "/crm/Leads")
		if err == nil {
			_ = resp.Body.Close()
		}
		ffDone <- err
	}()
	var ffErr error
	select {
	case ffErr = <-ffDone:
	case <-time.After(2 * time.Second): // wall time: a fail-fast call does not wait
		stopFF()
		ffErr = <-ffDone
		t.Errorf("the fail-fast call waited")
	}
	var le *client.LimitError
	if assert.ErrorAs(t, ffErr, &le) {
		assert.Equal(t, client.ReasonQuietHours, le.Reason)
	}
	stopWait()
	stopFF()
	assert.ErrorIs(t, <-waitDone, context.Canceled)
	assert.Zero(t, held())
}

// A read with a deadline fails at once with a *LimitError (Deadline) when
// what its call waits for cannot be back before the deadline (the package
// doc), also when an identical read is already waiting for it: it joined
// that read's flight, waited out its whole deadline, and got
// context.DeadlineExceeded, late and with no RetryAt to act on.
func TestCoalesceFollowerDeadlineFailsAtOnce(t *testing.T) {
	clk := &fakeClock{now: time.Now()} // near the wall clock, which deadlines keep
	base := rtFunc(func(r *http.Request) (*http.Response, error) { return response(r, http.StatusOK, "{}"), nil })
	tr, held := heldTransport(t, base, clk, plan(3, 5),
		client.WithCoalescing(client.CoalesceRule{Route: "GET /crm/{module}"}))
	for range 3 { // the pool is spent: its credits come back in an hour
		mustGet(t, tr, "", "/crm/Deals")
	}

	waitCtx, stopWait := context.WithCancel(context.Background())
	waitDone := make(chan error, 1)
	go func() {
		resp, err := get(waitCtx, tr, "", "/crm/Leads")
		if err == nil {
			_ = resp.Body.Close()
		}
		waitDone <- err
	}()
	eventually(t, "the first call waiting for credits", func() bool { return tr.Waiters() == 1 })

	dlCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	_, err := get(dlCtx, tr, "", "/crm/Leads")
	var le *client.LimitError
	if assert.ErrorAs(t, err, &le, "after %v", time.Since(start)) {
		assert.True(t, le.Deadline)
		assert.Equal(t, client.ReasonCredits, le.Reason)
	}
	assert.Less(t, time.Since(start), time.Second, "at once, not at the deadline")
	stopWait()
	assert.ErrorIs(t, <-waitDone, context.Canceled)
	assert.Zero(t, held())
}
