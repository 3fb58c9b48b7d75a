package client_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/middleware/client"
)

// ffGet is a fail-fast GET: the error is the client's refusal, if any.
func ffGet(t testing.TB, tr http.RoundTripper, it, path string) error {
	t.Helper()
	resp, err := get(client.WithFailFast(context.Background()), tr, it, path)
	if err == nil {
		_ = resp.Body.Close()
	}
	return err
}

func reasonOf(err error) client.Reason {
	if le, ok := err.(*client.LimitError); ok {
		return le.Reason
	}
	return client.ReasonNone
}

// A quota caps an integration at its share of the pool over the window,
// while the others go on; its credits come back with the window.
func TestQuota(t *testing.T) {
	clk := newClock()
	tr := newTransport(t, &okRT{}, clk, client.WithPlan(plan(100, 5)),
		client.WithIntegrations(client.Integration{Name: "export", Quota: 30}, client.Integration{Name: "forms"}))
	for range 30 {
		require.NoError(t, ffGet(t, tr, "export", "/crm/Deals"))
	}
	err := ffGet(t, tr, "export", "/crm/Deals")
	var le *client.LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, client.ReasonQuota, le.Reason)
	assert.Equal(t, t0.Add(time.Hour), le.RetryAt.Truncate(time.Minute).Add(0))
	require.NoError(t, ffGet(t, tr, "forms", "/crm/Leads"), "the others are not held")
	assert.Equal(t, int64(69), remaining(tr, clk), "the refused call took nothing from the pool")
	clk.Advance(time.Hour + time.Minute)
	require.NoError(t, ffGet(t, tr, "export", "/crm/Deals"))
}

// A reserve is left untaken by everyone but its owner.
func TestReserve(t *testing.T) {
	clk := newClock()
	tr := newTransport(t, &okRT{}, clk, client.WithPlan(plan(100, 5)),
		client.WithIntegrations(client.Integration{Name: "sync"}, client.Integration{Name: "forms", Reserve: 10}))
	n := 0
	for ffGet(t, tr, "sync", "/crm/Leads") == nil {
		n++
	}
	assert.Equal(t, 90, n, "sync leaves the forms' 10 credits")
	for range 10 {
		require.NoError(t, ffGet(t, tr, "forms", "/crm/Leads"))
	}
	assert.Equal(t, client.ReasonCredits, reasonOf(ffGet(t, tr, "forms", "/crm/Leads")))
}

// Quotas and reserves hold under contention: many goroutines of three
// integrations race for a pool that cannot serve them all.
func TestQuotaReserveContention(t *testing.T) {
	clk := newClock()
	tr := newTransport(t, &okRT{}, clk, client.WithPlan(plan(1000, 64)), client.WithIntegrations(
		client.Integration{Name: "export", Quota: 25},
		client.Integration{Name: "sync"},
		client.Integration{Name: "forms", Reserve: 5}))
	var got [3]atomic.Int64
	names := []string{"export", "sync", "forms"}
	var wg sync.WaitGroup
	for g := range 12 {
		wg.Go(func() {
			i := g % 3
			for range 200 {
				if ffGet(t, tr, names[i], "/crm/Leads") == nil {
					got[i].Add(1)
				}
			}
		})
	}
	wg.Wait()
	export, sync, forms := got[0].Load(), got[1].Load(), got[2].Load()
	assert.LessOrEqual(t, export, int64(250), "export's quota")
	assert.LessOrEqual(t, export+sync, int64(950), "the forms' reserve is untouched by the others")
	assert.Equal(t, int64(1000), export+sync+forms, "the whole pool is spent, never more")
	assert.Equal(t, int64(0), remaining(tr, clk))
}

// When credits are short, the higher priority is served first, whatever
// the order the calls came in.
func TestPriorityServedFirst(t *testing.T) {
	clk := newClock()
	tr := newTransport(t, &okRT{}, clk, client.WithPlan(plan(2, 5)), client.WithIntegrations(
		client.Integration{Name: "bi", Priority: 0},
		client.Integration{Name: "forms", Priority: 10}))
	for range 2 {
		mustGet(t, tr, "bi", "/crm/Leads")
	}
	served := map[string]*atomic.Int64{"bi": {}, "forms": {}}
	var wg sync.WaitGroup
	queue := func(it string, n int64) {
		wg.Go(func() {
			resp, err := get(context.Background(), tr, it, "/crm/Leads")
			if assert.NoError(t, err) {
				served[it].Add(1)
				_ = resp.Body.Close()
			}
		})
		eventually(t, "queued", func() bool { return tr.Waiters() == n })
	}
	queue("bi", 1)
	queue("bi", 2)
	queue("forms", 3)
	queue("forms", 4)
	clk.Advance(time.Hour + 20*time.Minute) // the two credits come back
	eventually(t, "forms served", func() bool { return served["forms"].Load() == 2 })
	assert.Equal(t, int64(0), served["bi"].Load())
	assert.Equal(t, int64(2), tr.Waiters(), "bi still waits")
	clk.Advance(time.Hour + 20*time.Minute)
	wg.Wait()
	assert.Equal(t, int64(2), served["bi"].Load())
}

// An integration with quiet hours waits for their end (a wall-clock time
// in its location); fail-fast says when that is.
func TestQuietHours(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	require.NoError(t, err)
	clk := newClock() // 09:00 UTC is 01:00 in Los Angeles
	tr := newTransport(t, &okRT{}, clk, client.WithPlan(plan(100, 5)), client.WithIntegrations(
		client.Integration{Name: "web"},
		client.Integration{Name: "backfill", Quiet: &client.QuietHours{From: 22 * time.Hour, To: 6 * time.Hour, Location: la}}))
	err = ffGet(t, tr, "backfill", "/crm/Leads")
	var le *client.LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, client.ReasonQuietHours, le.Reason)
	assert.Equal(t, time.Date(2026, 3, 2, 6, 0, 0, 0, la), le.RetryAt.In(la))
	require.NoError(t, ffGet(t, tr, "web", "/crm/Leads"))

	done := make(chan error, 1)
	go func() {
		resp, err := get(context.Background(), tr, "backfill", "/crm/Leads")
		if err == nil {
			err = resp.Body.Close()
		}
		done <- err
	}()
	eventually(t, "waiting for 06:00", func() bool { return tr.Waiters() == 1 && clk.pending() == 1 })
	clk.Advance(4*time.Hour + 59*time.Minute)
	assert.Equal(t, int64(1), tr.Waiters())
	clk.Advance(time.Minute)
	require.NoError(t, <-done)
}

// An integration with a pool level waits while the pool is below it.
func TestPoolLevel(t *testing.T) {
	clk := newClock()
	tr := newTransport(t, &okRT{}, clk, client.WithPlan(plan(100, 5)), client.WithIntegrations(
		client.Integration{Name: "web"},
		client.Integration{Name: "report", MinPool: 50}))
	for range 51 {
		mustGet(t, tr, "web", "/crm/Leads")
	}
	err := ffGet(t, tr, "report", "/crm/Leads")
	var le *client.LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, client.ReasonPoolLevel, le.Reason)
	assert.True(t, le.RetryAt.After(t0), "says when the level is back")
	clk.Advance(time.Hour + 15*time.Minute)
	require.NoError(t, ffGet(t, tr, "report", "/crm/Leads"))
}

// An integration waiting for its own rule (its quota) does not hold up the
// others, and keeps its own calls in FIFO order.
func TestIntegrationWaitDoesNotBlockOthers(t *testing.T) {
	clk := newClock()
	tr := newTransport(t, &okRT{}, clk, client.WithPlan(plan(100, 5)),
		client.WithIntegrations(client.Integration{Name: "export", Quota: 10}, client.Integration{Name: "forms"}))
	for range 10 {
		mustGet(t, tr, "export", "/crm/Deals")
	}
	done := make(chan error, 1)
	go func() {
		resp, err := get(context.Background(), tr, "export", "/crm/Deals")
		if err == nil {
			err = resp.Body.Close()
		}
		done <- err
	}()
	eventually(t, "export waits", func() bool { return tr.Waiters() == 1 })
	mustGet(t, tr, "forms", "/crm/Leads") // not queued behind export
	assert.Equal(t, client.ReasonQuota, reasonOf(ffGet(t, tr, "export", "/crm/Deals")),
		"a fail-fast call does not overtake its own integration's waiter")
	clk.Advance(time.Hour + 15*time.Minute)
	require.NoError(t, <-done)
}

// A fail-fast call that queues behind waiters and is refused leaves at once:
// it holds up nobody meanwhile. Here a call that waits only for the bulk
// slot, with credits enough, must not fail on the deadline of the credits
// a larger fail-fast call of a higher priority lacked.
func TestFailFastRefusalBlocksNobody(t *testing.T) {
	clk := &fakeClock{now: time.Now()} // the wait's deadline is a real one
	tr := newTransport(t, &okRT{}, clk, client.WithPlan(plan(100, 5)), client.WithIntegrations(
		client.Integration{Name: "sync"}, client.Integration{Name: "ff", Priority: 10, FailFast: true}))
	mustGet(t, tr, "sync", "/crm/big") // 50 left
	bulk := func(ctx context.Context) (*http.Response, error) {
		r, err := http.NewRequestWithContext(client.WithIntegration(ctx, "sync"), http.MethodPost, "http://api.test/crm/bulk", nil)
		require.NoError(t, err)
		return tr.RoundTrip(r)
	}
	held, err := bulk(context.Background()) // the bulk slot; 40 left
	require.NoError(t, err)
	ctx, cancel := context.WithDeadline(context.Background(), clk.Now().Add(10*time.Minute))
	defer cancel()
	done := make(chan error, 1)
	go func() {
		resp, err := bulk(ctx)
		if err == nil {
			err = resp.Body.Close()
		}
		done <- err
	}()
	eventually(t, "the bulk call waits", func() bool { return tr.Waiters() == 1 })
	assert.Equal(t, client.ReasonCredits, reasonOf(ffGet(t, tr, "ff", "/crm/big")))
	assert.Equal(t, int64(1), tr.Waiters(), "the waiter did not end on the fail-fast call's refusal")
	require.NoError(t, held.Body.Close())
	require.NoError(t, <-done, "admitted once the bulk slot is free")
}

// A learned pool's quotas count the call that taught the pool its size:
// it was admitted before any quota had a size, and was never charged to
// one, so an integration whose first call taught the pool got its quota
// and that call free. Left open by the last review. A first call the
// server refunds (a 5xx) costs its quota nothing, as it costs the pool
// nothing.
func TestLearnedPoolFirstCallCountsAgainstQuota(t *testing.T) {
	for _, tc := range []struct {
		name   string
		first  int   // the first call's status
		before int64 // credits spent once it is answered
	}{
		{"charged", http.StatusOK, 1},
		{"refunded", http.StatusServiceUnavailable, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			var n atomic.Int64
			base := rtFunc(func(r *http.Request) (*http.Response, error) {
				st := http.StatusOK
				if n.Add(1) == 1 {
					st = tc.first
				}
				return response(r, st, "{}", "X-Ratelimit-Limit", "10"), nil
			})
			tr := checkedTransport(t, base, client.WithClock(clk), client.WithBodyTracking(),
				client.WithIntegrations(client.Integration{Name: "export", Quota: 50}))
			resp := mustGet(t, tr, "export", "/crm/Leads") // teaches the pool: 10 credits, the quota 5
			require.Equal(t, tc.first, resp.StatusCode)
			require.Equal(t, int64(10), tr.Limiter().Plan("").Credits, "the pool is learned")
			pool, quota := tr.Limiter().Peek(clk.Now(), ""), tr.Limiter().Peek(clk.Now(), "/export")
			assert.Equal(t, tc.before, pool.Used)
			assert.Equal(t, tc.before, quota.Used, "the quota counts what the pool counts")
			admitted := int64(0)
			for ffGet(t, tr, "export", "/crm/Leads") == nil {
				admitted++
			}
			assert.Equal(t, 5-tc.before, admitted, "the quota's 5 credits, less the first call's")
			assert.Equal(t, client.ReasonQuota, reasonOf(ffGet(t, tr, "export", "/crm/Leads")))
		})
	}
}

// A learned pool's quotas count the calls answered before the pool's size
// was known (answers without a limit, before the one that teaches it):
// they were admitted with no quota ticket, and unmetered let them go free
// while the size was unknown, so that an integration got its quota and
// every call before the size came free. Their credits are charged to the
// quota once the size is learned; a refunded one (a 5xx) counts nothing.
func TestLearnedPoolCallsBeforeSizeCountAgainstQuota(t *testing.T) {
	clk := newClock()
	var n atomic.Int64
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		switch n.Add(1) {
		case 1, 3:
			return response(r, http.StatusOK, "{}"), nil // no size said
		case 2:
			return response(r, http.StatusServiceUnavailable, "{}"), nil // refunded
		}
		return response(r, http.StatusOK, "{}", "X-Ratelimit-Limit", "10"), nil
	})
	tr := checkedTransport(t, base, client.WithClock(clk), client.WithBodyTracking(),
		client.WithIntegrations(client.Integration{Name: "export", Quota: 50}))
	for _, want := range []int{http.StatusOK, http.StatusServiceUnavailable, http.StatusOK} {
		require.Equal(t, want, mustGet(t, tr, "export", "/crm/Leads").StatusCode)
		require.NotEqual(t, int64(10), tr.Limiter().Plan("").Credits, "not learned yet")
	}
	mustGet(t, tr, "export", "/crm/Leads") // teaches the pool: 10 credits, the quota 5
	require.Equal(t, int64(10), tr.Limiter().Plan("").Credits, "the pool is learned")
	quota := tr.Limiter().Peek(clk.Now(), "/export")
	assert.Equal(t, int64(3), quota.Used, "the two calls answered before the size, and the one that taught it")
	admitted := int64(0)
	for ffGet(t, tr, "export", "/crm/Leads") == nil {
		admitted++
	}
	assert.Equal(t, int64(2), admitted, "the quota's 5 credits, less the 3 spent")
	assert.Equal(t, client.ReasonQuota, reasonOf(ffGet(t, tr, "export", "/crm/Leads")))
}

// Under contention, every call of a learned pool's integration counts in
// its quota exactly once, whether answered before the size was known,
// while it was being learned, or after: the sum of the calls answered
// before it and the learning race for it (see Transport.unmetered).
func TestLearnedPoolQuotaCountsEveryCallUnderContention(t *testing.T) {
	clk := newClock()
	var n atomic.Int64
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		if n.Add(1) <= 40 {
			return response(r, http.StatusOK, "{}"), nil // no size said
		}
		return response(r, http.StatusOK, "{}", "X-Ratelimit-Limit", "1000"), nil
	})
	tr := checkedTransport(t, base, client.WithClock(clk), client.WithBodyTracking(),
		client.WithIntegrations(client.Integration{Name: "export", Quota: 50}))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				resp, err := get(context.Background(), tr, "export", "/crm/Leads")
				if assert.NoError(t, err) {
					assert.NoError(t, resp.Body.Close())
				}
			}
		})
	}
	wg.Wait()
	require.Equal(t, int64(1000), tr.Limiter().Plan("").Credits, "the pool is learned")
	assert.Equal(t, int64(160), tr.Limiter().Peek(clk.Now(), "/export").Used, "each of the 160 calls once")
}
