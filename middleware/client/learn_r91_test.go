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
