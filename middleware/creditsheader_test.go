package middleware

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// X-API-CREDITS-REMAINING is sent "only once usage is at 50% or more of
// the allowance" (docs/credit-limits.md, section 4, from Zoho's
// pages): at exactly half the pool used it is there, on admissions and
// refusals alike, and one credit short of half it is not. The middleware
// sent it only past half, so a client reading Zoho's rule missed it at
// the boundary (the client tests' fake server sends it at half).
func TestCreditsRemainingFromHalfUsed(t *testing.T) {
	for _, tc := range []struct {
		pool, spend int64
		sent        bool
	}{
		{4, 1, false}, {4, 2, true}, {4, 3, true}, {4, 4, true},
		{5, 2, false}, {5, 3, true}, // 50 % of 5 is 2.5: 3 used is the first at or above it
		{1, 1, true}, {2, 1, true},
	} {
		e := newEnv(t, testPlan(tc.pool, 5, 5), okHandler())
		var rec interface{ Header() http.Header }
		for range tc.spend {
			r := e.do("GET", "/crm/Leads", "")
			assert.Equal(t, http.StatusOK, r.Code)
			rec = r
		}
		_, sent := rec.Header()[keyCreditsRemaining]
		assert.Equal(t, tc.sent, sent, "admitted: pool %d, %d used", tc.pool, tc.spend)

		refused := e.do("POST", "/crm/bulk", "") // 5 credits: more than any of these pools has left
		if tc.pool < 5 {
			assert.Equal(t, http.StatusForbidden, refused.Code, "above the whole pool")
		} else {
			assert.Equal(t, http.StatusTooManyRequests, refused.Code)
		}
		_, sent = refused.Header()[keyCreditsRemaining]
		assert.Equal(t, tc.sent, sent, "refused: pool %d, %d used", tc.pool, tc.spend)
	}
}
