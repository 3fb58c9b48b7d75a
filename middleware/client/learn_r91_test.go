package client_test

import (
	"context"
	"net/http"
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
// limiter refuses the learned plan (ErrCapAbovePool), and learnFrom gives
// up without setting anything, so the placeholder stays for good: one call
// at a time (the plan said 5) and no credit limit, with nothing but a
// warning per response. A limit too small for the reserves (e01970d) lifts
// the placeholder's one call at a time; this one does not.
func TestLearnedPlanExtraAboveServerLimitNotStuck(t *testing.T) {
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		return response(r, http.StatusOK, "{}", "X-RateLimit-Limit", "50"), nil
	})
	tr, err := client.New(base, client.WithPlan(limiter.Plan{Name: "x", Window: time.Hour, Concurrency: 5,
		Extra: []store.WindowLimit{{Credits: 100, Window: time.Minute}}}))
	if err != nil {
		assert.ErrorIs(t, err, client.ErrConfig) // refused up front: fine too
		return
	}
	defer func() { _ = tr.Close(context.Background()) }()
	for range 3 {
		mustGetURL(t, tr, "http://api.test/crm/Leads")
	}
	p := tr.Limiter().Plan("")
	assert.Equal(t, int64(5), p.Concurrency, "the plan's concurrency, not the placeholder's one call at a time")
	if p.Credits != 50 {
		t.Logf("pool not learned (%d credits): %s", p.Credits, "no credit limit at all")
	}
}
