package middleware

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
)

// A pricing budget below a route's body limit (an operator's 1 KB, say,
// beside a route that reads up to 4 KB; Zoho's read 4 MB, beside a budget
// of 1 MB) can never hold a body between the two: a 2,000-byte body there
// gets 503 "the server holds as many request bodies as it can", with
// Retry-After: 1, however idle the server, every time it is retried. New
// accepts the option silently. (With a budget below 512 bytes, io.ReadAll's
// first read, even a 12-byte body is refused so.) Such a body should get
// 413, as one over the route's limit does, or New should refuse a budget
// smaller than a body limit of its table.
func TestPricingBudgetBelowBodyLimit_r89(t *testing.T) {
	ct, err := cost.NewTable(1, cost.Route{Pattern: "POST /crm/{module}", Pricer: cost.RecordsCost("data", 10, 10, 4096)})
	require.NoError(t, err)
	l, err := limiter.New(testPlan(100, 5, 5))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	h, err := New(okHandler(), l, ct, WithPricingBudget(1024))
	if err != nil {
		return // refusing the configuration is a fix too
	}
	body := `{"data":[1],"pad":"` + strings.Repeat("x", 2000) + `"}`
	for range 3 { // an idle server: nothing else holds the budget
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/crm/Leads", strings.NewReader(body)))
		require.NotEqual(t, http.StatusServiceUnavailable, rec.Code,
			"a %d-byte body on an idle server, budget 1024, route limit 4096: %s, Retry-After %v",
			len(body), rec.Body.String(), rec.Header().Values(HeaderRetryAfter))
	}
}
