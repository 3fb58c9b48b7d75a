package middleware

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
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

// X-API-CREDITS-REMAINING counts its half from the allowance, the pool less
// the plan's add-on credits (Zoho: "add-on credits excluded"): a pool of 10
// holding 4 add-ons sends it from 3 used, not 5. The plan may come from New,
// SetPlan (which keeps the add-ons) or WithPlanFor; a plan without add-ons
// keeps the pool's half.
func TestCreditsRemainingFromHalfAllowance(t *testing.T) {
	withAddOns := testPlan(10, 5, 5)
	withAddOns.AddOns = 4
	for _, how := range []string{"New", "SetPlan", "WithPlanFor"} {
		for _, tc := range []struct {
			spend int64
			sent  bool
		}{{2, false}, {3, true}, {9, true}} {
			plan := withAddOns
			var opts []limiter.Option
			switch how {
			case "SetPlan", "WithPlanFor":
				plan = testPlan(10, 5, 5)
			}
			if how == "WithPlanFor" {
				opts = append(opts, limiter.WithPlanFor(func(string) limiter.Plan { return withAddOns }))
			}
			l, err := limiter.New(plan, opts...)
			require.NoError(t, err)
			if how == "SetPlan" {
				require.NoError(t, l.SetPlan("", withAddOns))
			}
			clock := newClock()
			h, err := New(okHandler(), l, testCosts(t), WithClock(clock.Now))
			require.NoError(t, err)
			var rec *httptest.ResponseRecorder
			for range tc.spend {
				rec = httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/crm/Leads", nil))
				require.Equal(t, http.StatusOK, rec.Code)
			}
			_, sent := rec.Header()[keyCreditsRemaining]
			assert.Equal(t, tc.sent, sent, "%s: %d of an allowance of 6 used (pool 10)", how, tc.spend)
			require.NoError(t, l.Close(context.Background()))
		}
	}
}

// The threshold is exact for any pool and add-ons: sent once the used
// credits reach half the allowance, rounded up.
func TestShowCreditsAllowance(t *testing.T) {
	for limit := int64(1); limit <= 12; limit++ {
		for addOns := int64(0); addOns <= limit; addOns++ {
			allowance := limit - addOns
			for used := int64(0); used <= limit; used++ {
				want := 2*used >= allowance
				assert.Equal(t, want, showCredits(limit, used, addOns), "pool %d, add-ons %d, %d used", limit, addOns, used)
			}
		}
	}
	assert.True(t, showCredits(10, 0, 20), "add-ons above the pool count as the pool")
	assert.False(t, showCredits(10, 4, -3), "negative add-ons count as none")
}
