package middleware

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A 429's Retry-After tells the client when the same request will be
// admitted if nothing else is spent. For a request that costs more than the
// whole pool (POST /crm/bulk costs 5, the pool is 3) there is no such time:
// the window package calls it ErrExceedsLimit ("can never be admitted, so
// waiting for it is pointless"). The middleware answers a 429 saying the
// credits "are used up" while all 3 remain, with Retry-After: 86400; the
// client waits a day, retries, and gets the same answer, forever.
func TestRetryAfterIsTrue_r89(t *testing.T) {
	e := newEnv(t, testPlan(3, 2, 1), okHandler())
	for _, tc := range []struct{ method, target string }{
		{"GET", "/crm/Leads"}, // sanity: a request that fits the pool
		{"POST", "/crm/bulk"}, // 5 credits, pool of 3
	} {
		for range 3 {
			e.do("GET", "/crm/Leads", "") // spend the pool
		}
		rec := e.do(tc.method, tc.target, "")
		require.Equal(t, http.StatusTooManyRequests, rec.Code, "%s %s", tc.method, tc.target)
		ra, err := strconv.ParseInt(rec.Header().Get(HeaderRetryAfter), 10, 64)
		require.NoError(t, err)
		e.clock.Advance(time.Duration(ra) * time.Second)
		again := e.do(tc.method, tc.target, "")
		if again.Code != http.StatusOK {
			t.Errorf("%s %s: told Retry-After %d s, refused again after it (%d %s): the 429 promised a time that never comes",
				tc.method, tc.target, ra, again.Code, again.Body.String())
		}
		e.clock.Advance(48 * time.Hour) // a fresh pool for the next case
	}
}
