package middleware

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
)

// A 429's Retry-After tells the client when the same request will be
// admitted if nothing else is spent. For a request that costs more than the
// whole pool (POST /crm/bulk costs 5, the pool is 3) there is no such time:
// the window package calls it ErrExceedsLimit ("can never be admitted, so
// waiting for it is pointless"). The middleware answered a 429 saying the
// credits "are used up" while all 3 remained, with Retry-After: 86400; the
// client waited a day, retried, and got the same answer, forever. Such a
// call is not a 429 (wait and retry) but a 403 saying its cost exceeds the
// pool (by "cost", with cost and limit), without Retry-After.
func TestRetryAfterIsTrue_r89(t *testing.T) {
	e := newEnv(t, testPlan(3, 2, 1), okHandler())
	// Sanity: a request that fits the pool gets a Retry-After that comes true.
	for range 3 {
		e.do("GET", "/crm/Leads", "") // spend the pool
	}
	rec := e.do("GET", "/crm/Leads", "")
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	ra, err := strconv.ParseInt(rec.Header().Get(HeaderRetryAfter), 10, 64)
	require.NoError(t, err)
	e.clock.Advance(time.Duration(ra) * time.Second)
	again := e.do("GET", "/crm/Leads", "")
	require.Equal(t, http.StatusOK, again.Code, "told Retry-After %d s, refused again after it: %s", ra, again.Body.String())

	e.clock.Advance(48 * time.Hour) // a fresh pool
	for _, spent := range []int{0, 3} {
		for range spent {
			e.do("GET", "/crm/Leads", "")
		}
		rec := e.do("POST", "/crm/bulk", "") // 5 credits, pool of 3
		require.Equal(t, http.StatusForbidden, rec.Code, "spent %d: %s", spent, rec.Body.String())
		require.Empty(t, rec.Header().Values(HeaderRetryAfter), "spent %d: a call that can never be admitted has no time to come back", spent)
		b := decodeBody(t, rec)
		require.Equal(t, "cost", b.By, "spent %d", spent)
		require.NotNil(t, b.Cost)
		require.Equal(t, int64(5), *b.Cost)
		require.Equal(t, int64(3), b.Limit)
		require.Zero(t, b.RetryAfter, "spent %d", spent)
		e.clock.Advance(48 * time.Hour)
	}
}

// A compound plan's smaller window is a limit too: a call that costs more
// than it holds (5 credits, 3 a minute beside a pool of 100) never passes
// it, however long it waits, and gets the same 403, naming that limit.
// One that fits it waits for it: a 429 whose Retry-After comes true.
func TestCostAboveWindowOfCompoundPlan(t *testing.T) {
	plan := testPlan(100, 2, 1)
	plan.Extra = []limiter.WindowLimit{{Credits: 3, Window: time.Minute}}
	e := newEnv(t, plan, okHandler())
	rec := e.do("POST", "/crm/bulk", "")
	require.Equal(t, http.StatusForbidden, rec.Code, rec.Body.String())
	require.Empty(t, rec.Header().Values(HeaderRetryAfter))
	b := decodeBody(t, rec)
	require.Equal(t, ByCost, b.By)
	require.Equal(t, int64(3), b.Limit)

	for range 3 {
		require.Equal(t, http.StatusOK, e.do("GET", "/crm/Leads", "").Code)
	}
	rec = e.do("GET", "/crm/Leads", "")
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	ra, err := strconv.ParseInt(rec.Header().Get(HeaderRetryAfter), 10, 64)
	require.NoError(t, err)
	require.LessOrEqual(t, ra, int64(120), "the minute's window, not the day's")
	e.clock.Advance(time.Duration(ra) * time.Second)
	require.Equal(t, http.StatusOK, e.do("GET", "/crm/Leads", "").Code)
}
