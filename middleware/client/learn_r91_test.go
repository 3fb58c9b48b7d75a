package client_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/store"
)

// A learned plan (Credits 0) whose concurrency cap is above what any plan
// may have (store.MaxConcurrency) is refused by New, as one of zero is
// since dd9ae17 and as the same plan with credits is: New checked only
// Concurrency <= 0, the placeholder (concurrency 1) was valid, and every
// response's limit was refused by the limiter (ErrOverflow), so the
// Transport went on silently with no credit limit and one call at a time.
func TestLearnedPlanConcurrencyTooLargeRefused(t *testing.T) {
	conc := int64(store.MaxConcurrency + 1)
	_, err := limiter.New(limiter.Plan{Name: "x", Credits: 1000, Window: time.Hour, Concurrency: conc})
	require.Error(t, err, "the limiter refuses a plan with concurrency %d", conc)
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		return response(r, http.StatusOK, "{}", "X-RateLimit-Limit", "1000"), nil
	})
	tr, err := client.New(base, client.WithPlan(limiter.Plan{Name: "x", Window: time.Hour, Concurrency: conc}))
	if err != nil {
		assert.ErrorIs(t, err, client.ErrConfig)
		return
	}
	defer func() { _ = tr.Close(context.Background()) }()
	mustGetURL(t, tr, "http://api.test/crm/Leads")
	p := tr.Limiter().Plan("")
	assert.Equal(t, int64(1000), p.Credits, "accepted, and the pool never learned")
	assert.Equal(t, conc, p.Concurrency, "accepted, and one call at a time for good")
}

// A learned plan with an extra window (a per-minute cap, say) whose
// credits are above the limit the server says for the pool's window: the
// limiter refuses the learned plan (ErrCapAbovePool), and learnFrom gave
// up without setting anything, so the placeholder stayed for good: one
// call at a time (the plan said 5) and no credit limit. f6f48e3 lifted the
// one call at a time, but the pool was still never learned: no credit
// limit at all. Such a window can never bind under the server's pool (no
// longer than its window, yet larger than all of it): it is left out, with
// a warning, and the pool the server states is learned.
func TestLearnedPlanExtraAboveServerLimitNotStuck(t *testing.T) {
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		return response(r, http.StatusOK, "{}", "X-RateLimit-Limit", "50"), nil
	})
	var logs bytes.Buffer
	tr, err := client.New(base, client.WithClock(newClock()), client.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		client.WithPlan(limiter.Plan{Name: "x", Window: time.Hour, Concurrency: 5,
			Extra: []store.WindowLimit{{Credits: 100, Window: time.Minute}, {Credits: 200, Window: 24 * time.Hour}}}))
	require.NoError(t, err)
	defer func() { _ = tr.Close(context.Background()) }()
	for range 3 {
		mustGetURL(t, tr, "http://api.test/crm/Leads")
	}
	p := tr.Limiter().Plan("")
	assert.Equal(t, int64(5), p.Concurrency, "the plan's concurrency, not the placeholder's one call at a time")
	assert.Equal(t, int64(50), p.Credits, "the pool the server states")
	assert.Equal(t, []store.WindowLimit{{Credits: 200, Window: 24 * time.Hour}}, p.Extra,
		"the per-minute 100 can never bind under 50 an hour; the daily 200 can, and is kept")
	assert.Contains(t, logs.String(), "Extra[0]", "the window left out is named in the log")
}

// The extra window left out under a small pool binds again when the server
// states a pool it can bind under: it is the plan's (WithPlan), not lost
// with the pool it could not bind in.
func TestLearnedPlanExtraBackWhenPoolGrows(t *testing.T) {
	var limit atomic.Int64
	limit.Store(50)
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		return response(r, http.StatusOK, "{}", "X-RateLimit-Limit", itoa(limit.Load())), nil
	})
	extra := []store.WindowLimit{{Credits: 100, Window: time.Minute}}
	tr := checkedTransport(t, base, client.WithClock(newClock()),
		client.WithPlan(limiter.Plan{Name: "x", Window: time.Hour, Concurrency: 5, Extra: extra}))
	mustGetURL(t, tr, "http://api.test/crm/Leads")
	p := tr.Limiter().Plan("")
	require.Equal(t, int64(50), p.Credits, "learned")
	require.Empty(t, p.Extra, "the per-minute 100 left out under 50 an hour")

	limit.Store(1000)
	mustGetURL(t, tr, "http://api.test/crm/Leads")
	p = tr.Limiter().Plan("")
	assert.Equal(t, int64(1000), p.Credits, "learned anew")
	assert.Equal(t, extra, p.Extra, "the per-minute 100 binds under 1000 an hour: back in the plan")
}

// Calls racing through the first response: the pool is learned once, with
// the window that cannot bind left out, every call charged once, and never
// more in flight than the plan's concurrency.
func TestLearnedPlanExtraLeftOutUnderContention(t *testing.T) {
	var inFlight, most atomic.Int64
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		return response(r, http.StatusOK, "{}", "X-RateLimit-Limit", "1000"), nil
	})
	clk := newClock()
	tr := checkedTransport(t, base, client.WithClock(clk),
		client.WithPlan(limiter.Plan{Name: "x", Window: time.Hour, Concurrency: 5,
			Extra: []store.WindowLimit{{Credits: 2000, Window: time.Minute}}}))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				r, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://api.test/crm/Leads", nil)
				if !assert.NoError(t, err) {
					return
				}
				resp, err := tr.RoundTrip(r)
				if assert.NoError(t, err) {
					assert.NoError(t, resp.Body.Close())
				}
			}
		})
	}
	wg.Wait()
	p := tr.Limiter().Plan("")
	assert.Equal(t, int64(1000), p.Credits, "the pool the server states")
	assert.Empty(t, p.Extra, "the per-minute 2000 cannot bind under 1000 an hour")
	assert.Equal(t, int64(80), tr.Limiter().Peek(clk.Now(), "").Used, "each of the 80 calls once")
	assert.LessOrEqual(t, most.Load(), int64(5), "the plan's concurrency")
}
