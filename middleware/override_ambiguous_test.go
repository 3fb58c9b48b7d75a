package middleware

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A request whose method override headers name more methods than the cost
// table reads it as gets 400 with a sentence that says so, and never
// reaches next: priced by its first few methods only, it could run as a
// dearer one.
func TestAmbiguousOverrideRefused(t *testing.T) {
	e := newEnv(t, testPlan(5, 5, 5), okHandler(), WithErrorBodies(bodiesFunc{}))
	rec := e.do("GET", "/crm/Leads", "", "X-HTTP-Method-Override", "PUT", "X-HTTP-Method", "PATCH",
		"X-Method-Override", "DELETE")
	assert.Equal(t, http.StatusOK, rec.Code) // three methods: read three ways, priced at the dearest
	r := httptest.NewRequest("GET", "/crm/Leads", nil)
	r.Header["X-Http-Method-Override"] = []string{"PUT", "PATCH", "DELETE", "POST"}
	rec = httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Equal(t, "failed: the request's method override headers name more methods than it is priced for", rec.Body.String())
}
