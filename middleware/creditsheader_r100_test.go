package middleware

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
)

// HeaderCreditsRemaining's doc (and DESIGN, step 5): sent "once half the
// allowance or more is used", the allowance being the pool less its add-on
// credits. showCredits decides from the decision's Remaining, which for a
// compound plan is the least of its windows (store.Decision), not the
// pool's: with a pool of 1,000 beside 10 credits a minute, 6 credits used
// of the 1,000 leave 4 in the minute's window, and the header is sent, as
// if more than 500 of the pool were used. The decision's Used is the pool's
// use, which the rule is about.
func TestCreditsHeaderCompoundPlan_r100(t *testing.T) {
	plan := testPlan(1000, 2, 1)
	plan.Extra = []limiter.WindowLimit{{Credits: 10, Window: time.Minute}}
	e := newEnv(t, plan, okHandler())
	var rec interface{ Header() http.Header }
	for range 6 {
		r := e.do("GET", "/crm/Leads", "")
		require.Equal(t, http.StatusOK, r.Code)
		rec = r
	}
	assert.Equal(t, "1000", rec.Header().Get(HeaderLimit))
	assert.Empty(t, rec.Header().Values(HeaderCreditsRemaining),
		"6 credits of a pool of 1,000 used: not half the allowance")
}
