package client_test

import (
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/window"
)

// The count of credits spent by others saturates at the int64 bound: it
// is fed by what servers say (each hostile answer of X-RateLimit-Remaining
// 0 charges a whole pool, up to window.MaxLimit credits, a window), and a
// long-running Transport fed enough of them wrapped to a large negative
// Stats.External (and Outside row). The count is set near the bound
// (export_test.go), then real answers are reconciled.
func TestExternalSaturates(t *testing.T) {
	clk := newClock()
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		return response(r, http.StatusOK, "{}", "X-Ratelimit-Remaining", "0"), nil
	})
	tr := newTransport(t, base, clk, client.WithPlan(plan(window.MaxLimit, 4)))
	tr.SetExternal(math.MaxInt64 - 10)
	mustGet(t, tr, "", "/crm/Leads") // the server says the whole pool is spent
	assert.Equal(t, int64(math.MaxInt64), tr.Stats().External, "saturated, not wrapped")
	assert.Equal(t, int64(math.MaxInt64), stat(tr, client.Outside).Credits)
	clk.Advance(2 * time.Hour) // the pool is back; the server says spent again
	mustGet(t, tr, "", "/crm/Leads")
	assert.Equal(t, int64(math.MaxInt64), tr.Stats().External, "stays at the bound")
	assert.Equal(t, int64(math.MaxInt64), stat(tr, client.Outside).Credits)
}
