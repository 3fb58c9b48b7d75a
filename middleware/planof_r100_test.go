package middleware

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
)

// The 403 by cost decides from two sources: the store's decision (Cost
// above its Limit) and, for a compound plan's smaller windows,
// Limiter.PlanOf, which asks WithPlanFor's function again. But WithPlanFor
// gives a tenant its plan "when the store first sees it (and again after
// eviction)", and Limiter.ReplanAt's doc says held tenants keep the plan
// they were made with until ReplanAt: the store keeps enforcing the plan
// it was given while the function already answers another (the gateway's
// reload stores the new configuration first, then replans every held
// tenant one by one). Here the function adds a window of
// 3 credits a minute after the tenant was created under a plain pool of 10;
// a 5-credit call refused because the pool holds 4 is told 403 "can never
// be admitted" (by a window the store does not have), with no Retry-After,
// though the same call is admitted once the pool refills.
func TestCostAboveWindowPlanOfNotStores_r100(t *testing.T) {
	plain := testPlan(10, 2, 1)
	compound := testPlan(10, 2, 1)
	compound.Extra = []limiter.WindowLimit{{Credits: 3, Window: time.Minute}}
	var later atomic.Bool
	l, err := limiter.New(plain, limiter.WithPlanFor(func(string) limiter.Plan {
		if later.Load() {
			return compound
		}
		return plain
	}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	clock := newClock()
	h, err := New(okHandler(), l, testCosts(t), WithClock(clock.Now))
	require.NoError(t, err)
	e := &env{l: l, h: h, clock: clock}

	for range 6 {
		require.Equal(t, http.StatusOK, e.do("GET", "/crm/Leads", "").Code)
	}
	later.Store(true) // the function's answer changes; the store keeps its plan
	rec := e.do("POST", "/crm/bulk", "")
	assert.Equal(t, http.StatusTooManyRequests, rec.Code, "a call the store would admit once its pool refills: %s", rec.Body.String())
	assert.NotEmpty(t, rec.Header().Get(HeaderRetryAfter))

	clock.Advance(25 * time.Hour)
	require.Equal(t, http.StatusOK, e.do("POST", "/crm/bulk", "").Code,
		"the store still enforces the plain pool: the 5-credit call fits")
}

// The same split for X-API-CREDITS-REMAINING: the add-on credits come from
// Limiter.AddOns (WithPlanFor's answer now), the pool from the store's
// decision. A tenant made under a pool of 1,000 without add-ons, whose
// function now answers 1,000 + 1,000 add-ons (a gateway reload adding
// add_ons, before ReplanAt reaches it), gets the header on its first call,
// 1 credit of 1,000 used, where Zoho sends it from half the allowance.
func TestCreditsHeaderAddOnsNotStores_r100(t *testing.T) {
	plain := testPlan(1000, 2, 1)
	bought := testPlan(2000, 2, 1)
	bought.AddOns = 1000
	var later atomic.Bool
	l, err := limiter.New(plain, limiter.WithPlanFor(func(string) limiter.Plan {
		if later.Load() {
			return bought
		}
		return plain
	}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	clock := newClock()
	h, err := New(okHandler(), l, testCosts(t), WithClock(clock.Now))
	require.NoError(t, err)
	e := &env{l: l, h: h, clock: clock}

	rec := e.do("GET", "/crm/Leads", "")
	require.Equal(t, http.StatusOK, rec.Code)
	require.Empty(t, rec.Header().Values(HeaderCreditsRemaining))
	later.Store(true)
	// Another tenant, new to the store, is made under the new answer (the
	// limiter now knows some plan has add-ons).
	r := httptest.NewRequest("GET", "/crm/Leads", nil)
	r = r.WithContext(ContextWithIdentity(r.Context(), Identity{Tenant: "new"}))
	other := httptest.NewRecorder()
	e.h.ServeHTTP(other, r)
	require.Equal(t, http.StatusOK, other.Code)
	require.Equal(t, "2000", other.Header().Get(HeaderLimit))
	rec = e.do("GET", "/crm/Leads", "")
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "1000", rec.Header().Get(HeaderLimit), "the store still enforces the pool of 1,000")
	assert.Empty(t, rec.Header().Values(HeaderCreditsRemaining),
		"2 of the 1,000 credits the store enforces are used, not half")
}
