package middleware

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
)

// exceededLimit's doc: "a body-priced request refused when it reserves the
// rest of its price has the whole price as its Cost, and the store's
// Exceeds is of the rest". It checks the whole Cost against the pool's
// Limit, but for a compound plan's smaller window it returns the store's
// Exceeds, which Plan.Exceeded computed for the rest only. A body of 5
// records costs 5 (1 reserved at admission, 4 on Reserve); beside a pool of
// 100 the plan allows 4 credits a minute. The whole price, 5, never fits
// the minute's window (the least price already sits in it when the rest is
// reserved, and every retry does the same), so it is the 403 by cost that
// TestCostAboveWindowOfCompoundPlan gives a fixed-price call of 5; the rest,
// 4, does not exceed 4, so Exceeds is 0 and the client gets a 429 whose
// Retry-After never comes true. Before a105 the middleware compared the
// whole Cost with the plan's Extra windows and answered 403.
func TestBodyPricedCostAboveWindow_r112(t *testing.T) {
	plan := testPlan(100, 2, 1)
	plan.Extra = []limiter.WindowLimit{{Credits: 4, Window: time.Minute}}
	e := newEnv(t, plan, okHandler())
	body := `{"data":[{},{},{},{},{}]}` // 5 records: 5 credits

	rec := e.do("POST", "/crm/Leads", body)
	require.Equal(t, http.StatusForbidden, rec.Code, "a 5-credit call beside a window of 4: %s", rec.Body.String())
	require.Empty(t, rec.Header().Values(HeaderRetryAfter))
	b := decodeBody(t, rec)
	require.Equal(t, ByCost, b.By)
	require.Equal(t, int64(4), b.Limit)

	// And the 429 it gets now does not come true: after its Retry-After
	// (and a day) the same body is refused again.
	e.clock.Advance(24 * time.Hour)
	require.NotEqual(t, http.StatusOK, e.do("POST", "/crm/Leads", body).Code)
}
