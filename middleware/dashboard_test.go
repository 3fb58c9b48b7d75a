package middleware

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
)

// dashEnv records known usage through the middleware at fake times:
//
//	t0-3h  app "exporter": 2 bulk calls (5 credits each), module-less route
//	t0-1h  app "webform":  3 GET /crm/Leads (1 each), user "ann", IP 192.0.2.1
//	t0     app "exporter": 1 GET /crm/Deals (1), then pool exhausted refusals
//
// Pool: 20 credits.
func dashEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, testPlan(20, 5, 5), okHandler())
	at := func(d time.Duration, n int, method, target string, hdr ...string) {
		e.clock.mu.Lock()
		e.clock.t = t0.Add(d)
		e.clock.mu.Unlock()
		for range n {
			e.do(method, target, "", hdr...)
		}
	}
	at(-3*time.Hour, 2, "POST", "/crm/bulk", HeaderClientID, "exporter", HeaderUserID, "bob")
	at(-time.Hour, 3, "GET", "/crm/Leads", HeaderClientID, "webform", HeaderUserID, "ann")
	at(0, 1, "GET", "/crm/Deals", HeaderClientID, "exporter", HeaderUserID, "bob")
	at(0, 2, "POST", "/crm/bulk", HeaderClientID, "exporter", HeaderUserID, "bob") // 1 admitted (total 19), 1 refused
	at(0, 1, "GET", "/crm/Leads", HeaderClientID, "<img src=x onerror=alert(1)>")
	return e
}

func dashGet(t *testing.T, h http.Handler, target string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestDashboardJSON(t *testing.T) {
	e := dashEnv(t)
	d := Dashboard(e.l, WithDashboardClock(func() time.Time { return t0.Add(30 * time.Minute) }))

	rec := dashGet(t, d, "/dashboard/api/summary")
	require.Equal(t, http.StatusOK, rec.Code)
	var s summaryJSON
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &s))
	assert.Equal(t, int64(20), s.Limit)
	assert.Equal(t, int64(20), s.Used)
	assert.Equal(t, int64(0), s.Remaining)
	assert.Equal(t, "test", s.Plan)
	assert.Equal(t, int64(86400), s.WindowSeconds)

	rec = dashGet(t, d, "/dashboard/api/series?hours=4")
	var ser seriesJSON
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &ser))
	require.Len(t, ser.Points, 4)
	credits := []int64{}
	for _, p := range ser.Points {
		credits = append(credits, p.Credits)
	}
	assert.Equal(t, []int64{10, 0, 3, 7}, credits)
	assert.Equal(t, int64(1), ser.Points[3].Refused)
	assert.Equal(t, t0.Add(-3*time.Hour), ser.Points[0].Hour)

	rec = dashGet(t, d, "/dashboard/api/top?dim=app")
	var top topJSON
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &top))
	require.Len(t, top.Items, 3)
	assert.Equal(t, countJSON{Key: "exporter", Credits: 16, Calls: 4, Refused: 1}, top.Items[0])
	assert.Equal(t, countJSON{Key: "webform", Credits: 3, Calls: 3}, top.Items[1])

	// Usage is recorded through the limiter with every dimension filled in by
	// the middleware: the module from the route's {module}, user, IP, method.
	tops := map[string][]countJSON{}
	for _, dim := range []string{"module", "user", "ip", "method"} {
		rec = dashGet(t, d, "/dashboard/api/top?dim="+dim)
		var tj topJSON
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &tj))
		tops[dim] = tj.Items
	}
	assert.Equal(t, countJSON{Key: "", Credits: 15, Calls: 3, Refused: 1}, tops["module"][0],
		"bulk has no {module}: the empty key leads with 15 credits")
	assert.Equal(t, countJSON{Key: "Leads", Credits: 4, Calls: 4}, tops["module"][1])
	assert.Equal(t, countJSON{Key: "bob", Credits: 16, Calls: 4, Refused: 1}, tops["user"][0])
	assert.Equal(t, countJSON{Key: "192.0.2.1", Credits: 20, Calls: 8, Refused: 1}, tops["ip"][0], "httptest's RemoteAddr")
	assert.Equal(t, countJSON{Key: "POST", Credits: 15, Calls: 3, Refused: 1}, tops["method"][0])

	assert.Equal(t, http.StatusBadRequest, dashGet(t, d, "/dashboard/api/top?dim=nope").Code)
	assert.Equal(t, http.StatusNotFound, dashGet(t, d, "/dashboard/other").Code)
	rec = httptest.NewRecorder()
	d.ServeHTTP(rec, httptest.NewRequest("POST", "/dashboard/api/summary", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)

	rec = dashGet(t, d, "/dashboard/")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	assert.Contains(t, rec.Header().Get("Content-Security-Policy"), "script-src 'sha256-")
	for _, ext := range []string{`src=`, `href=`, `@import`, `url(`, `https:`, `fetch('http`, `fetch("http`} {
		assert.NotContains(t, rec.Body.String(), ext, "no external resources")
	}
}

func TestDashboardToken(t *testing.T) {
	e := newEnv(t, testPlan(20, 5, 5), okHandler())
	d := Dashboard(e.l, WithToken("s3cret"))
	assert.Equal(t, http.StatusUnauthorized, dashGet(t, d, "/d/api/summary").Code)
	assert.Equal(t, http.StatusUnauthorized, dashGet(t, d, "/d/api/summary", "Authorization", "Bearer s3cre").Code)
	assert.Equal(t, http.StatusUnauthorized, dashGet(t, d, "/d/?token=s3cret0").Code)
	assert.Equal(t, http.StatusOK, dashGet(t, d, "/d/api/summary", "Authorization", "Bearer s3cret").Code)
	assert.Equal(t, http.StatusOK, dashGet(t, d, "/d/?token=s3cret").Code)
	// The auth scheme is case-insensitive, and one or more spaces follow it
	// (RFC 9110, section 11.4).
	for _, auth := range []string{"bearer s3cret", "BEARER s3cret", "bEaReR  s3cret"} {
		assert.Equal(t, http.StatusOK, dashGet(t, d, "/d/api/summary", "Authorization", auth).Code, auth)
	}
	for _, auth := range []string{"Basic s3cret", "Bearers3cret", "Bearer", "s3cret", "Bearer s3cret x"} {
		assert.Equal(t, http.StatusUnauthorized, dashGet(t, d, "/d/api/summary", "Authorization", auth).Code, auth)
	}
	// An empty token (an unset variable) locks the dashboard rather than open it.
	locked := Dashboard(e.l, WithToken(""))
	assert.Equal(t, http.StatusUnauthorized, dashGet(t, locked, "/d/").Code, "empty token: locked")
	assert.Equal(t, http.StatusUnauthorized, dashGet(t, locked, "/d/api/summary").Code, "empty token: locked")
	assert.Equal(t, http.StatusUnauthorized, dashGet(t, locked, "/d/?token=").Code, "empty token: locked")
	assert.Equal(t, http.StatusUnauthorized, dashGet(t, locked, "/d/api/summary", "Authorization", "Bearer ").Code, "empty token: locked")
	assert.Equal(t, http.StatusOK, dashGet(t, Dashboard(e.l, WithToken(""), WithToken("s3cret")), "/d/?token=s3cret").Code, "a later token wins")
	assert.Equal(t, http.StatusOK, dashGet(t, Dashboard(e.l), "/d/").Code, "no WithToken: open")
	assert.Panics(t, func() { Dashboard(nil) })
}

func TestDashboardWithoutUsage(t *testing.T) {
	// A limiter without usage recording: the endpoints answer with empty lists.
	l, err := limiter.New(testPlan(20, 5, 5))
	require.NoError(t, err)
	rec := dashGet(t, Dashboard(l), "/api/top?dim=ip")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"dim":"ip","items":[]}`, rec.Body.String())
}

// htmlTag finds the first start tag in dom that contains marker and returns
// its attributes.
func htmlTag(t *testing.T, dom, marker string) map[string]string {
	t.Helper()
	i := strings.Index(dom, marker)
	require.GreaterOrEqual(t, i, 0, "no tag with %s in the rendered page", marker)
	start := strings.LastIndexByte(dom[:i], '<')
	end := strings.IndexByte(dom[i:], '>')
	require.True(t, start >= 0 && end >= 0)
	return parseAttrs(dom[start : i+end])
}

// htmlTags returns the attributes of every start tag of the given name and class.
func htmlTags(dom, name, class string) []map[string]string {
	var out []map[string]string
	needle := "<" + name + ` class="` + class + `"`
	for rest := dom; ; {
		i := strings.Index(rest, needle)
		if i < 0 {
			return out
		}
		end := strings.IndexByte(rest[i:], '>')
		if end < 0 {
			return out
		}
		out = append(out, parseAttrs(rest[i:i+end]))
		rest = rest[i+end:]
	}
}

func parseAttrs(tag string) map[string]string {
	attrs := map[string]string{}
	for rest := tag; ; {
		eq := strings.Index(rest, `="`)
		if eq < 0 {
			return attrs
		}
		sp := strings.LastIndexAny(rest[:eq], " \t\n")
		endq := strings.IndexByte(rest[eq+2:], '"')
		if endq < 0 {
			return attrs
		}
		attrs[rest[sp+1:eq]] = rest[eq+2 : eq+2+endq]
		rest = rest[eq+2+endq+1:]
	}
}

func TestDashboardLimits(t *testing.T) {
	e := dashEnv(t)
	d := Dashboard(e.l, WithTopN(1), WithDashboardClock(func() time.Time { return t0 }))
	var top topJSON
	require.NoError(t, json.Unmarshal(dashGet(t, d, "/api/top?dim=app").Body.Bytes(), &top))
	assert.Len(t, top.Items, 1)
	assert.Equal(t, "exporter", top.Items[0].Key)
	for q, want := range map[string]int{"hours=100000": 30 * 24, "hours=-3": 1, "hours=x": 24, "": 24} {
		var ser seriesJSON
		require.NoError(t, json.Unmarshal(dashGet(t, d, "/api/series?"+q).Body.Bytes(), &ser))
		assert.Len(t, ser.Points, want, q)
	}
	var s summaryJSON
	require.NoError(t, json.Unmarshal(dashGet(t, d, "/api/summary?tenant=nobody").Body.Bytes(), &s))
	assert.Equal(t, "nobody", s.Tenant)
	assert.Equal(t, int64(20), s.Limit, "an unseen tenant has the default plan's whole pool")
	assert.Equal(t, int64(0), s.Used)
}
