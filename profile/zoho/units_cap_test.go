package zoho_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/profile/zoho"
)

// A Composite call takes 5 units of its application's concurrency cap; under
// a plan capped at 3 (stricter than any of Zoho's editions) no release
// admits it. Zoho's body for it is the 403 LIMIT_EXCEEDED of a call above
// the pool, by units, with the units it takes and the cap as its limit,
// and no Retry-After: a TOO_MANY_REQUESTS would have a client retry it for
// ever.
func TestErrorBodiesUnitsAboveCap(t *testing.T) {
	l, err := limiter.New(limiter.Plan{Name: "z", Credits: 100, Concurrency: 3,
		SubConcurrency: map[string]int64{zoho.ClassComplex: 10}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	ct, err := zoho.CostTable()
	require.NoError(t, err)
	h, err := middleware.New(http.NotFoundHandler(), l, ct, middleware.WithErrorBodies(zoho.ErrorBodies{}),
		middleware.WithClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	rec := serve(h, "POST", "/crm/v8/__composite_requests", `{"__composite_requests":[{"method":"GET","uri":"/crm/v8/Leads"}]}`)
	require.Equal(t, http.StatusForbidden, rec.Code, "%s", rec.Body)
	assert.Empty(t, rec.Header().Values("Retry-After"))
	assert.Equal(t, []string{"100"}, rec.Header().Values(middleware.HeaderRemaining))
	b := decode(t, rec)
	assert.Equal(t, zoho.CodeLimitExceeded, b.Code)
	assert.Equal(t, "the API call takes more of the application's concurrency limit than the limit holds", b.Message)
	var raw struct{ Details json.RawMessage }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &raw))
	assert.JSONEq(t, `{"by":"units","class":"complex","cost":1,"units":5,"limit":3}`, string(raw.Details))
}
