package middleware

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A 429 by a slot cap names that cap first in both IETF fields, as a policy
// of its own (q its cap in concurrent requests; r=0 and t equal to
// Retry-After); the credits item stays in RateLimit only while its t is no
// later than Retry-After (draft -10, section 6: Retry-After SHOULD NOT point
// earlier than the reset parameter). A client reading the fields reads the
// credits pool from them, not the cap.
func TestIETFSlotRefusalFields(t *testing.T) {
	check := func(e *env, rec interface{ Header() http.Header }, policy, rateLimit string) {
		t.Helper()
		h := rec.Header()
		assert.Equal(t, "1", h.Get(HeaderRetryAfter))
		assert.Equal(t, []string{policy}, h.Values(HeaderRateLimitPolicy))
		assert.Equal(t, []string{rateLimit}, h.Values(HeaderRateLimit))
		l, err := ParseHeaders(e.clock.Now(), h)
		require.NoError(t, err)
		assert.EqualValues(t, 10, l.Limit, "the credits pool, not the cap")
		assert.Zero(t, l.Interval.Present, "the cap is no pool")
	}

	// Nothing spent: the credits' t is 0, and their item stays.
	hd := newHolder()
	e := newEnv(t, testPlan(10, 2, 1), hd.handler(), WithIETFHeaders(""))
	hd.start(t, e, "GET", "/free")
	hd.start(t, e, "GET", "/free")
	rec := e.do("GET", "/free", "")
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	check(e, rec, `"concurrency";q=2;qu="concurrent-requests", "credits";q=10;w=86400`,
		`"concurrency";r=0;t=1, "credits";r=10;t=0`)
	hd.finish()

	// 5 credits spent by the bulk call held: their t is a day, and the
	// sub-concurrency 429 names only its cap.
	hd = newHolder()
	e = newEnv(t, testPlan(10, 2, 1), hd.handler(), WithIETFHeaders(""))
	hd.start(t, e, "POST", "/crm/bulk")
	rec = e.do("POST", "/crm/bulk", "")
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.Equal(t, BySubConcurrency, decodeBody(t, rec).By)
	check(e, rec, `"sub_concurrency";q=1;qu="concurrent-requests", "credits";q=10;w=86400`,
		`"sub_concurrency";r=0;t=1`)
	hd.finish()
}

// The policy names a slot refusal uses are not the credits policy's.
func TestIETFPolicyNameNotASlotCap(t *testing.T) {
	for _, name := range []string{ByConcurrency, BySubConcurrency} {
		_, err := buildConfig([]Option{WithIETFHeaders(name)})
		assert.ErrorIs(t, err, ErrBadOption, name)
	}
}
