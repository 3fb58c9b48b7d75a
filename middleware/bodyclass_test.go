package middleware

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
)

// A route whose class its body decides (cost.Price.BodyClass: 3 records
// or more are "bulk", cap 1) has its body priced before admission, so
// that the class's slot is held by the large writes only: while one holds
// it, a small write is admitted and a large one refused, and a body that
// cannot be priced gets its 400 without holding anything.
func TestBodyClassPricedFirst(t *testing.T) {
	pr := cost.RecordsCost("data", 1, 10, 64)
	pr.InClass = func(_ *http.Request, credits int64) bool { return credits >= 3 }
	ct, err := cost.NewTable(1, cost.Route{Pattern: "POST /w", Pricer: pr, Class: "bulk"})
	require.NoError(t, err)
	l, err := limiter.New(testPlan(100, 5, 1))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	var e *env
	inner := map[string]int{}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "outer" {
			return
		}
		inner["small"] = e.do("POST", "/w", `{"data":[1,2]}`).Code
		inner["large"] = e.do("POST", "/w", `{"data":[1,2,3]}`).Code
		inner["malformed"] = e.do("POST", "/w", `{"data":[1,`).Code
	})
	h, err := New(next, l, ct)
	require.NoError(t, err)
	e = &env{l: l, h: h}
	assert.Equal(t, http.StatusOK, e.do("POST", "/w?outer", `{"data":[1,2,3,4]}`).Code)
	assert.Equal(t, map[string]int{"small": http.StatusOK, "large": http.StatusTooManyRequests,
		"malformed": http.StatusBadRequest}, inner)
	// 4 + 2 credits charged, whole at admission, the refusals none; then 1.
	assert.Equal(t, "93", e.do("POST", "/w", `{"data":[]}`).Header().Get(HeaderRemaining))
}
