package middleware

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/store"
)

// unitsEnv serves a composite route of 5 units (Zoho's) under plan.
func unitsEnv(t *testing.T, plan limiter.Plan, opts ...Option) *env {
	t.Helper()
	l, err := limiter.New(plan)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	ct, err := cost.NewTable(1,
		cost.Route{Pattern: "GET /crm/composite", Cost: 1, Units: 5},
		cost.Route{Pattern: "GET /crm/{module}", Cost: 1})
	require.NoError(t, err)
	clock := newClock()
	h, err := New(okHandler(), l, ct, append([]Option{WithClock(clock.Now)}, opts...)...)
	require.NoError(t, err)
	return &env{l: l, h: h, clock: clock}
}

// A call of more units than its plan's cap (a composite of 5 under a cap of
// 3) is refused every time, with no slot held: no release makes room for
// it. It gets 403 by units (the units it takes, the cap as Limit), with the
// limit headers and no Retry-After, not a 429 by concurrency that a client
// obeying Retry-After would retry for ever. A call that fits the cap is
// admitted beside it.
func TestUnitsAboveCap(t *testing.T) {
	e := unitsEnv(t, testPlan(100, 3, 1))
	for range 2 {
		rec := e.do("GET", "/crm/composite", "")
		require.Equal(t, http.StatusForbidden, rec.Code, rec.Body.String())
		assert.Empty(t, rec.Header().Values(HeaderRetryAfter), "no wait admits it")
		b := decodeBody(t, rec)
		assert.Equal(t, "units", b.By, "by units (ByUnits)")
		require.NotNil(t, b.Units)
		assert.Equal(t, int64(5), *b.Units, "the units it takes")
		assert.Equal(t, int64(3), b.Limit, "the cap")
		require.NotNil(t, b.Cost)
		assert.Equal(t, int64(1), *b.Cost)
		assert.Zero(t, b.RetryAfter)
		assert.Empty(t, b.ResetTime)
		assert.Equal(t, []string{"100"}, rec.Header().Values(HeaderLimit))
		assert.Equal(t, []string{"100"}, rec.Header().Values(HeaderRemaining), "no credits taken")
	}
	assert.Equal(t, http.StatusOK, e.do("GET", "/crm/Leads", "").Code)
	assert.EqualValues(t, 99, e.l.Peek(e.clock.Now(), "").Remaining, "only the admitted call's credit spent")
}

// The 403 by units carries the IETF fields of the 403 by cost: the credits
// policy and what is left of it, no Retry-After and no slot policy, whose
// RateLimit item would say when a slot comes back (none is enough).
func TestUnitsAboveCapIETF(t *testing.T) {
	e := unitsEnv(t, testPlan(100, 3, 1), WithIETFHeaders(""))
	rec := e.do("GET", "/crm/composite", "")
	require.Equal(t, http.StatusForbidden, rec.Code, rec.Body.String())
	assert.Equal(t, http.Header{
		"X-Ratelimit-Limit":     {"100"},
		"X-Ratelimit-Remaining": {"100"},
		"X-Ratelimit-Reset":     {"0"},
		"Ratelimit-Policy":      {`"credits";q=100;w=86400`},
		"Ratelimit":             {`"credits";r=100;t=0`},
	}, limitHeaders(rec.Header()))
}

// A call that fits the cap but finds it held stays a 429 by concurrency,
// to retry: 3 units under a cap of 3, one held.
func TestUnitsWithinCapStill429(t *testing.T) {
	hd := newHolder()
	l, err := limiter.New(testPlan(100, 3, 1))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	ct, err := cost.NewTable(1,
		cost.Route{Pattern: "GET /crm/composite", Cost: 1, Units: 3},
		cost.Route{Pattern: "GET /crm/{module}", Cost: 1})
	require.NoError(t, err)
	clock := newClock()
	h, err := New(hd.handler(), l, ct, WithClock(clock.Now))
	require.NoError(t, err)
	e := &env{l: l, h: h, clock: clock}
	hd.start(t, e, "GET", "/crm/Leads")
	rec := e.do("GET", "/crm/composite", "")
	require.Equal(t, http.StatusTooManyRequests, rec.Code, rec.Body.String())
	assert.NotEmpty(t, rec.Header().Values(HeaderRetryAfter))
	assert.Equal(t, ByConcurrency, decodeBody(t, rec).By)
	hd.finish()
}

// A route of more units than any store admits (store.MaxUnits) would be
// refused on every call under any plan: New says so, naming the route. One
// of more units than the default plan's cap is legal, since tenants'
// plans differ (unitsEnv builds one of 5 under a cap of 3).
func TestNewUnitsAboveMaxUnits(t *testing.T) {
	l, err := limiter.New(testPlan(100, 3, 1))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	ct, err := cost.NewTable(1,
		cost.Route{Pattern: "GET /crm/{module}", Cost: 1},
		cost.Route{Pattern: "POST /crm/huge", Cost: 1, Units: store.MaxUnits + 1})
	require.NoError(t, err)
	_, err = New(okHandler(), l, ct)
	require.ErrorIs(t, err, cost.ErrTooManyUnits)
	assert.Contains(t, err.Error(), `"POST /crm/huge"`)
	assert.Contains(t, err.Error(), "1025 units")

	ct, err = cost.NewTable(1, cost.Route{Pattern: "POST /crm/huge", Cost: 1, Units: store.MaxUnits})
	require.NoError(t, err)
	_, err = New(okHandler(), l, ct)
	assert.NoError(t, err, "store.MaxUnits itself is admitted under a cap that large")
}
