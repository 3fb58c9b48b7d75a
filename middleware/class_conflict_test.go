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

// A request whose readings fall in two classes (cost.ErrClassConflict:
// ServeMux's route in class a, a case-insensitive backend's in b) gets a
// 400 that says why, and never reaches next; the same path spelt as the
// route is admitted.
func TestClassConflictRefused(t *testing.T) {
	ct, err := cost.NewTable(1,
		cost.Route{Pattern: "POST /r/{id}", Cost: 5, Class: "a"},
		cost.Route{Pattern: "POST /r/Special", Cost: 1, Class: "b"},
	)
	require.NoError(t, err)
	l, err := limiter.New(limiter.Plan{Name: "p", Credits: 100, Concurrency: 5,
		SubConcurrency: map[string]int64{"a": 1, "b": 1}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	served := 0
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served++ })
	h, err := New(next, l, ct, WithErrorBodies(bodiesFunc{}))
	require.NoError(t, err)
	e := &env{l: l, h: h}
	assert.Equal(t, http.StatusOK, e.do("POST", "/r/Special", "").Code)
	rec := e.do("POST", "/r/special", "")
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Equal(t, "failed: the request may reach routes in different API classes", rec.Body.String())
	assert.Equal(t, 1, served)
}
