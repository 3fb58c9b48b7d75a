package client_test

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/store/memory"
)

// Callers whose contexts end at every stage (waiting for a slot, during
// the send, during a retry's wait, while reading the body) leave no slot
// held, no credit spent for a call the server refused or never got, no
// waiter queued, and every call counted once: on the wall clock, with
// goroutines racing (run with -race).
func TestCancelEverywhereGivesAllBack(t *testing.T) {
	var served, refused atomic.Int64
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		select {
		case <-time.After(time.Duration(rand.IntN(300)) * time.Microsecond):
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
		if rand.IntN(3) == 0 {
			refused.Add(1)
			return response(r, http.StatusTooManyRequests, `{"details":{"by":"concurrency"}}`, "Retry-After", "0"), nil
		}
		served.Add(1)
		return response(r, http.StatusOK, "ok"), nil
	})
	ms := memory.New()
	l, err := limiter.New(plan(1_000_000, 2), limiter.WithStore(ms))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	tr := checkedTransport(t, base, client.WithLimiter(l), client.WithCosts(costs(t)),
		client.WithRetry(client.RetryPolicy{Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond,
			BudgetRatio: 10, BudgetFloor: 1 << 40}),
		client.WithIntegrations(client.Integration{Name: "a"}, client.Integration{Name: "b", Priority: 1}))

	const n = 400
	var wg sync.WaitGroup
	var ok atomic.Int64
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rand.IntN(2000))*time.Microsecond)
			defer cancel()
			it := "a"
			if i%2 == 1 {
				it = "b"
			}
			resp, err := get(ctx, tr, it, "/crm/Leads")
			if err != nil {
				return
			}
			if rand.IntN(2) == 0 {
				_, _ = io.Copy(io.Discard, resp.Body)
			}
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Zero(t, ms.Held(""), "slots held")
	assert.Zero(t, tr.Waiters(), "waiters queued")
	s := tr.Stats()
	assert.Zero(t, s.OpenBodies)
	var reqs, credits int64
	for _, it := range s.Integrations {
		reqs += it.Requests
		credits += it.Credits
	}
	assert.Equal(t, int64(n), reqs, "every call counted once")
	// Every 200 the server sent was charged (1 credit), each refusal
	// refunded; a 200 whose caller left during the send is charged too.
	assert.Equal(t, served.Load(), credits, "credits spent are the calls served")
	assert.Equal(t, 1_000_000-served.Load(), l.Peek(time.Now(), "").Remaining, "the pool agrees")
	t.Logf("%d ok, %d served, %d refused", ok.Load(), served.Load(), refused.Load())
}
