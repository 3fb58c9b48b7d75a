package middleware

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
)

// A concurrency 429's IETF fields name the cap the store enforced (the
// decision's Cap), not what WithPlanFor answers now: a tenant held under a
// cap of 2, whose function's answer became 3 (a reload before ReplanAt
// reaches it), is refused its third call with q=2.
func TestIETFSlotCapIsStores(t *testing.T) {
	made, later := testPlan(10, 2, 1), testPlan(10, 3, 1)
	var changed atomic.Bool
	l, err := limiter.New(made, limiter.WithPlanFor(func(string) limiter.Plan {
		if changed.Load() {
			return later
		}
		return made
	}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	clock := newClock()
	hd := newHolder()
	h, err := New(hd.handler(), l, testCosts(t), WithClock(clock.Now), WithIETFHeaders(""))
	require.NoError(t, err)
	e := &env{l: l, h: h, clock: clock}
	hd.start(t, e, "GET", "/free")
	hd.start(t, e, "GET", "/free")
	changed.Store(true)
	rec := e.do("GET", "/free", "")
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.Equal(t, []string{`"concurrency";q=2;qu="concurrent-requests", "credits";q=10;w=86400`},
		rec.Header().Values(HeaderRateLimitPolicy))
	hd.finish()
}
