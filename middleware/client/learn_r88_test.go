package client_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware/client"
)

// A learned pool follows the server's limit also after one answer said a
// limit too small for the integrations' reserves (a vendor's glitch, or a
// lying proxy): that answer's plan was set in the limiter, the reserves
// were not applied, and the Transport's own idea of the pool stayed at the
// old size, so that when the server said the old limit again nothing was
// learned: the limiter kept the 1-credit plan for good, and every call
// after failed at once (Never) though the server said 1000 credits.
func TestLearnedPoolRecoversFromLimitBelowReserves(t *testing.T) {
	var limit atomic.Int64
	limit.Store(1000)
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		return response(r, http.StatusOK, "{}", "X-RateLimit-Limit", itoa(limit.Load())), nil
	})
	clk := newClock()
	tr := checkedTransport(t, base, client.WithClock(clk), client.WithIntegrations(
		client.Integration{Name: "a", Reserve: 10}, client.Integration{Name: "b", Reserve: 10}))

	mustGetURL(t, tr, "http://api.test/crm/Leads")
	require.Equal(t, int64(1000), tr.Limiter().Plan("").Credits, "learned")

	limit.Store(1) // one answer says a pool smaller than the reserves
	mustGetURL(t, tr, "http://api.test/crm/Leads")

	limit.Store(1000) // and the next ones say the old size again
	for i := range 3 {
		r, err := http.NewRequestWithContext(client.WithFailFast(context.Background()), http.MethodGet, "http://api.test/crm/Leads", nil)
		require.NoError(t, err)
		resp, err := tr.RoundTrip(r)
		if !assert.NoError(t, err, "call %d after the server said 1000 credits again", i) {
			continue
		}
		require.NoError(t, resp.Body.Close())
	}
	assert.Equal(t, int64(1000), tr.Limiter().Plan("").Credits, "the limiter's plan follows the server's limit")
}

// A learned plan (Credits 0) with no concurrency cap, or a negative one, is
// refused by New, as the same plan with credits is: it was accepted, the
// first response's limit could never be set in the limiter (no concurrency
// is no plan), and the Transport went on silently with no credit limit at
// all (the placeholder's 2^40) and one call at a time, for good.
func TestLearnedPlanWithoutConcurrencyRefused(t *testing.T) {
	for _, conc := range []int64{0, -1} {
		base := rtFunc(func(r *http.Request) (*http.Response, error) {
			return response(r, http.StatusOK, "{}", "X-RateLimit-Limit", "1000"), nil
		})
		_, err := limiter.New(limiter.Plan{Name: "x", Credits: 1000, Window: time.Hour, Concurrency: conc})
		require.Error(t, err, "the limiter refuses a plan with concurrency %d", conc)
		tr, err := client.New(base, client.WithPlan(limiter.Plan{Name: "x", Window: time.Hour, Concurrency: conc}))
		if err != nil {
			assert.ErrorIs(t, err, client.ErrConfig)
			continue
		}
		mustGetURL(t, tr, "http://api.test/crm/Leads")
		p := tr.Limiter().Plan("")
		assert.Equal(t, int64(1000), p.Credits, "concurrency %d: accepted, and the pool never learned", conc)
		_ = tr.Close(context.Background())
	}
}
