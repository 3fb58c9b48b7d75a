package middleware

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A route's units reach the limiter: a call of 2 units fills a cap of 2,
// and one of 2 units does not fit beside a call of 1.
func TestRouteUnits(t *testing.T) {
	hd := newHolder()
	e := newEnv(t, testPlan(100, 2, 5), hd.handler())
	hd.start(t, e, "GET", "/crm/composite", HeaderClientID, "a")
	rec := e.do("GET", "/crm/Leads", "", HeaderClientID, "a")
	assert.Equal(t, http.StatusTooManyRequests, rec.Code, "a call beside 2 units held of 2")
	assert.Equal(t, ByConcurrency, decodeBody(t, rec).By)
	assert.Equal(t, http.StatusOK, e.do("GET", "/crm/composite", "", HeaderClientID, "b").Code, "another application's cap")
	hd.finish()

	hd = newHolder()
	e = newEnv(t, testPlan(100, 2, 5), hd.handler())
	hd.start(t, e, "GET", "/crm/Leads", HeaderClientID, "a")
	rec = e.do("GET", "/crm/composite", "", HeaderClientID, "a")
	assert.Equal(t, http.StatusTooManyRequests, rec.Code, "2 units beside 1 held of 2")
	assert.Equal(t, http.StatusOK, e.do("GET", "/crm/Leads", "", HeaderClientID, "a").Code, "1 unit beside 1 held of 2")
	hd.finish()
	assert.Equal(t, http.StatusOK, e.do("GET", "/crm/composite", "", HeaderClientID, "a").Code, "every unit came back")
}
