package middleware

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
)

// Two handlers on one shared budget (a server's handler before and after a
// reload): a body the first holds counts against the second, which a
// budget of its own each let in (reviewer-87's TestReloadKeepsPricingBudget,
// at the gateway).
func TestSharedPricingBudget(t *testing.T) {
	_, err := NewPricingBudget(0)
	assert.True(t, errors.Is(err, ErrBadOption), "NewPricingBudget(0): %v", err)
	l, err := limiter.New(testPlan(100, 10, 5))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	ct, err := cost.NewTable(1)
	require.NoError(t, err)
	_, err = New(okHandler(), l, ct, WithSharedPricingBudget(nil))
	assert.True(t, errors.Is(err, ErrBadOption), "WithSharedPricingBudget(nil): %v", err)

	const size = 1 << 20
	b, err := NewPricingBudget(size)
	require.NoError(t, err)
	old, _ := budgetEnv(t, okHandler(), WithSharedPricingBudget(b))
	cur, hd := budgetEnv(t, okHandler(), WithSharedPricingBudget(b))
	assert.Equal(t, int64(size), b.Bytes())

	release, stalled, done := make(chan struct{}), make(chan struct{}), make(chan int)
	go func() {
		body := &stallBody{r: strings.NewReader(records(700_000)), stalled: stalled, release: release}
		r := httptest.NewRequest("POST", "/big", body)
		rec := httptest.NewRecorder()
		old.ServeHTTP(rec, r)
		done <- rec.Code
	}()
	<-stalled
	assert.Less(t, b.Free(), int64(size-700_000), "the old handler's body is counted")
	assert.Equal(t, b.Free(), hd.budget.free.Load(), "the new handler reads the same budget")
	rec := httptest.NewRecorder()
	cur.ServeHTTP(rec, httptest.NewRequest("POST", "/big", strings.NewReader(records(600_000))))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, "the new handler's body does not fit beside the old one's")
	close(release)
	assert.Equal(t, http.StatusOK, <-done)
	assert.Equal(t, int64(size), b.Free(), "every byte came back")
	rec = httptest.NewRecorder()
	cur.ServeHTTP(rec, httptest.NewRequest("POST", "/big", strings.NewReader(records(600_000))))
	assert.Equal(t, http.StatusOK, rec.Code)
}
