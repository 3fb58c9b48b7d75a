package middleware

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/store/memory"
)

// failClosedStore refuses every Take as the Redis store does when Redis is
// unreachable in FailClosed mode: ReasonUnavailable, with the plan's size
// and window but nothing known of the pool's use (Remaining and Used 0),
// and RetryAfter its cooldown.
type failClosedStore struct{ *memory.Store }

func (s failClosedStore) Take(now time.Time, req *store.Request, plans store.PlanFunc, _ *memory.Lease, d *store.Decision) {
	p := plans(req.Tenant)
	*d = store.Decision{Cost: req.Credits, Limit: p.Credits, Window: p.WindowLength(), Reset: now,
		Reason: store.ReasonUnavailable, RetryAfter: 5 * time.Second}
}

// A store that cannot decide (Redis unreachable, fail-closed) knows nothing
// of the pool. The 429 said it was spent: X-RATELIMIT-REMAINING 0 and
// X-API-CREDITS-REMAINING 0 beside the plan's LIMIT, and a body by
// "credits" ("the API credits for the current window are used up",
// then LIMIT_EXCEEDED in Zoho's shape) with remaining 0. A client that
// reconciles with the headers (this project's Transport does, on every
// response from 400 up) books the whole pool as spent by others, and stays
// locked out for a window after a blip of the server's store. The refusal
// must say what happened (by "unavailable") with Retry-After, and no pool
// figures it does not have.
func TestStoreUnavailableRefusal(t *testing.T) {
	l, err := limiter.New(testPlan(100, 5, 5), limiter.WithStore[memory.Lease](failClosedStore{memory.New()}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close(t.Context()) })
	clock := newClock()
	h, err := New(okHandler(), l, testCosts(t), WithClock(clock.Now), WithIETFHeaders(""))
	require.NoError(t, err)
	e := &env{l: l, h: h, clock: clock}

	for _, rec := range []interface {
		Header() http.Header
	}{e.do("GET", "/crm/Leads", ""), e.do("POST", "/crm/Leads", `{"data":[1,2]}`)} {
		r := rec.(interface{ Result() *http.Response }).Result()
		assert.Equal(t, http.StatusTooManyRequests, r.StatusCode)
		assert.Equal(t, http.Header{"Retry-After": {"5"}}, limitHeaders(r.Header), "no pool figures the store did not give")
		lim, _ := ParseHeaders(clock.Now(), r.Header)
		assert.False(t, lim.Has(FieldRemaining) || lim.Has(FieldCreditsRemaining), "a client reads no remaining credits")
	}
	rec := e.do("GET", "/crm/Leads", "")
	b := decodeBody(t, rec)
	assert.Equal(t, ByUnavailable, b.By)
	assert.Nil(t, b.Remaining, "no remaining credits in the body")
	assert.Equal(t, int64(5), b.RetryAfter)
}

// The same in shadow mode with WithShadowHeaders: the request goes on,
// without pool figures the store did not give.
func TestStoreUnavailableShadowHeaders(t *testing.T) {
	l, err := limiter.New(testPlan(100, 5, 5), limiter.WithStore[memory.Lease](failClosedStore{memory.New()}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close(t.Context()) })
	clock := newClock()
	h, err := New(okHandler(), l, testCosts(t), WithClock(clock.Now), WithShadowAll(), WithShadowHeaders())
	require.NoError(t, err)
	e := &env{l: l, h: h, clock: clock}
	rec := e.do("GET", "/crm/Leads", "")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Empty(t, limitHeaders(rec.Header()))
}
