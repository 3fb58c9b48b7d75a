package client_test

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/middleware/client"
)

// A retry the budget approved but that was never sent (its caller's
// context ended during its Retry-After) gives its credits back: the budget
// counts retries sent (Stats.RetryCredits is "what retries spent"), so a
// cancelled one must not use up the floor for the next caller's genuine
// retry. With a floor of one credit, the cancelled retry kept that credit
// and the next call's 429 was refused by the budget.
func TestRetryBudgetFreedWhenRetryNotSent(t *testing.T) {
	clk := newClock()
	var calls atomic.Int64
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		if calls.Add(1) <= 2 {
			return response(r, http.StatusTooManyRequests, "", "Retry-After", "10"), nil
		}
		return response(r, http.StatusOK, "ok"), nil
	})
	tr, held := heldTransport(t, base, clk, plan(100, 5), client.WithRetry(client.RetryPolicy{
		BudgetRatio: 1e-9, BudgetFloor: 1}))

	// Call 1: a 429, a retry decided, and its caller gives up during the wait.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		resp, err := get(ctx, tr, "", "/crm/Leads")
		if err == nil {
			_ = resp.Body.Close()
		}
		done <- err
	}()
	eventually(t, "the retry's wait", func() bool { return clk.pending() > 0 })
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Equal(t, int64(1), calls.Load())
	assert.Zero(t, tr.Stats().RetryCredits, "no retry was sent: none spent")

	// Call 2: a 429 whose retry is within the floor, then a 200.
	resp, err := advancing(t, clk, time.Second, func() (*http.Response, error) {
		return get(context.Background(), tr, "", "/crm/Leads")
	})
	var le *client.LimitError
	if errors.As(err, &le) {
		t.Fatalf("the second call's retry was refused (%v): the cancelled retry kept the budget", le)
	}
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, resp.Body.Close())
	assert.Zero(t, tr.Stats().BudgetRefused)
	assert.Zero(t, held())
}

// A request whose method override names a method that is not idempotent
// (X-HTTP-Method-Override: POST on a GET, as clients behind proxies that
// pass only GET send writes) is that method to the server, as the cost
// table and the cache read it: it is not retried unless NonIdempotent says
// so, like any POST. replayable read only Request.Method, so a 5xx (with
// Retry5xx) or a 429 sent the write again.
func TestRetryReadsMethodOverride(t *testing.T) {
	for _, st := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		t.Run(http.StatusText(st), func(t *testing.T) {
			clk := newClock()
			s := &script{steps: []step{{st, "", nil}, {200, "ok", nil}}}
			tr, held := heldTransport(t, s, clk, plan(100, 5), client.WithRetry(client.RetryPolicy{Retry5xx: true}))
			r, err := http.NewRequest(http.MethodGet, "http://api.test/crm/Leads/7", nil)
			require.NoError(t, err)
			r.Header.Set("X-HTTP-Method-Override", "POST")
			resp, err := advancing(t, clk, time.Second, func() (*http.Response, error) { return tr.RoundTrip(r) })
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			assert.Equal(t, int64(1), s.calls.Load(), "a POST (by its override) sent again")
			assert.Equal(t, st, resp.StatusCode, "the caller gets the refusal, as a POST's")
			assert.Zero(t, held())
		})
	}
}

// A Retry-After of ten seconds written with leading zeros (RFC 9110's
// delay-seconds is 1*DIGIT: any number of them) is ten seconds, not a wait
// past the header parser's horizon: the parser reads at most 16 characters,
// and the client took every longer string of digits for "more than a year
// away", so that a caller with a minute left failed at once with a
// deadline LimitError instead of retrying ten seconds later.
func TestRetryAfterLeadingZeros(t *testing.T) {
	for _, ra := range []string{"000000000000000010", "0000000000000000000000000000000010"} {
		t.Run(ra, func(t *testing.T) {
			clk := newClock()
			s := &script{steps: []step{{429, `{"code":"LIMIT_EXCEEDED"}`, []string{"Retry-After", ra}}, {200, "ok", nil}}}
			tr, held := heldTransport(t, s, clk, plan(100, 5))
			// A real deadline (contexts keep time on the wall clock), far
			// after the fake clock's time: ten seconds are well within it.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			resp, err := advancing(t, clk, time.Second, func() (*http.Response, error) { return get(ctx, tr, "", "/crm/Leads") })
			require.NoError(t, err, "ten seconds are within the caller's deadline")
			require.NoError(t, resp.Body.Close())
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			asked := clk.Asked()
			require.NotEmpty(t, asked)
			assert.GreaterOrEqual(t, asked[0], 10*time.Second)
			assert.LessOrEqual(t, asked[0], 12*time.Second, "ten seconds and a fifth at most")
			assert.Zero(t, held())
		})
	}
}

// An Idempotency-Key header with no value (a key the caller failed to
// make) makes no request idempotent: the server has no key to match the
// second write with. A POST with an empty or blank key was retried on a
// 429 as if it had one.
func TestRetryNeedsIdempotencyKeyValue(t *testing.T) {
	for _, v := range []string{"", "  "} {
		clk := newClock()
		s := &script{steps: []step{{429, "", nil}, {201, "ok", nil}}}
		tr, held := heldTransport(t, s, clk, plan(100, 5))
		r, err := http.NewRequest(http.MethodPost, "http://api.test/crm/other/1", strings.NewReader("{}"))
		require.NoError(t, err)
		r.Header["Idempotency-Key"] = []string{v}
		resp, err := advancing(t, clk, time.Second, func() (*http.Response, error) { return tr.RoundTrip(r) })
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, int64(1), s.calls.Load(), "key %q: a POST without a key sent again", v)
		assert.Zero(t, held())
	}
}

// A fail-fast call (WithFailFast, Integration.FailFast: "fail at once with
// a *LimitError instead of waiting", for a queue worker that would rather
// requeue) is not held for minutes by a server's refusal for credits: it
// fails at once with a *LimitError saying when they are back. It slept the
// Retry-After (up to MaxRetryAfter and a fifth) before its retry.
func TestFailFastNotHeldByCreditsRetryAfter(t *testing.T) {
	clk := newClock()
	s := &script{steps: []step{{429, `{"code":"LIMIT_EXCEEDED"}`, []string{"Retry-After", "300"}}, {200, "ok", nil}}}
	tr, held := heldTransport(t, s, clk, plan(100, 5))
	done := make(chan error, 1)
	go func() {
		resp, err := get(client.WithFailFast(context.Background()), tr, "", "/crm/Leads")
		if err == nil {
			_ = resp.Body.Close()
		}
		done <- err
	}()
	var err error
	eventually(t, "the call's end or a wait", func() bool {
		select {
		case err = <-done:
			return true
		default:
			return clk.pending() > 0
		}
	})
	if err == nil && clk.pending() > 0 {
		t.Errorf("the fail-fast call waits %v for its retry", clk.Asked())
	wait:
		for {
			select {
			case err = <-done:
				break wait
			default:
				clk.Advance(time.Minute)
				runtime.Gosched()
			}
		}
	}
	var le *client.LimitError
	if assert.ErrorAs(t, err, &le) {
		assert.Equal(t, client.ReasonCredits, le.Reason)
		assert.Equal(t, clk.Now().Add(300*time.Second), le.RetryAt)
	}
	assert.Equal(t, int64(1), s.calls.Load())
	assert.Zero(t, held())
}
