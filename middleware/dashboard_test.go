package middleware

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/usage"
)

// dashEnv records known usage through the middleware at fake times:
//
//	t0-3h  app "exporter": 2 bulk calls (5 credits each), module-less route, user bob
//	t0-1h  app "webform":  3 GET /crm/Leads (1 each), user "ann"
//	t0     app "exporter": 1 GET /crm/Deals (1), then a bulk call admitted
//	       (the pool's 19th and 20th... credits) and one refused; then a
//	       hostile application name
//
// Pool: 20 credits. Every call comes from httptest's 192.0.2.1.
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

// getJSON GETs target, requires a 200 and decodes the body into a new T.
func getJSON[T any](t *testing.T, h http.Handler, target string, hdr ...string) T {
	t.Helper()
	rec := dashGet(t, h, target, hdr...)
	require.Equal(t, http.StatusOK, rec.Code, "%s: %s", target, rec.Body.String())
	var v T
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v))
	return v
}

func atHalfPast() DashboardOption {
	return WithDashboardClock(func() time.Time { return t0.Add(30 * time.Minute) })
}

func TestDashboardJSON(t *testing.T) {
	e := dashEnv(t)
	d := Dashboard(e.l, atHalfPast())

	s := getJSON[summaryJSON](t, d, "/dashboard/api/summary")
	assert.Equal(t, summaryJSON{Plan: "test", Limit: 20, Used: 20, Remaining: 0, ResetTime: s.ResetTime,
		ResetIn: s.ResetIn, WindowSeconds: 86400, Now: t0.Add(30 * time.Minute)}, s)

	p := getJSON[periodJSON](t, d, "/dashboard/api/period")
	require.Len(t, p.Points, 24)
	var credits []int64
	for _, pt := range p.Points[20:] {
		credits = append(credits, pt.Credits)
	}
	assert.Equal(t, []int64{10, 0, 3, 7}, credits)
	assert.Equal(t, "24h", p.Period)
	assert.Equal(t, int64(1), p.Points[23].Refused)
	assert.Equal(t, t0.Add(-3*time.Hour), p.Points[20].Start.UTC())
	assert.Equal(t, "07:00", p.Points[20].Label)
	assert.Equal(t, [4]int64{20, 8, 1, 20}, [4]int64{p.Used, p.Calls, p.Refused, p.Pool})
	require.NotNil(t, p.Capacity)
	assert.Equal(t, [2]int64{20, 0}, [2]int64{*p.Capacity, *p.Unused}, "a day of a 24-hour pool: one pool")
	assert.Equal(t, 8.0, p.AvgCallsPerDay)

	top := getJSON[topJSON](t, d, "/dashboard/api/top?dim=app")
	require.Len(t, top.Items, 3)
	assert.Equal(t, countJSON{Key: "exporter", Credits: 16, Calls: 4, Refused: 1}, top.Items[0])
	assert.Equal(t, countJSON{Key: "webform", Credits: 3, Calls: 3}, top.Items[1])

	// Usage is recorded through the limiter with every dimension filled in by
	// the middleware: the module from the route's {module}, user, IP, method.
	tops := map[string][]countJSON{}
	for _, dim := range []string{"module", "user", "ip", "method"} {
		tops[dim] = getJSON[topJSON](t, d, "/dashboard/api/top?dim="+dim).Items
	}
	assert.Equal(t, countJSON{Key: "", Kind: "none", Credits: 15, Calls: 3, Refused: 1}, tops["module"][0],
		"bulk has no {module}: calls without one are a row of their own, marked")
	assert.Equal(t, countJSON{Key: "Leads", Credits: 4, Calls: 4}, tops["module"][1])
	assert.Equal(t, countJSON{Key: "bob", Credits: 16, Calls: 4, Refused: 1}, tops["user"][0])
	assert.Equal(t, countJSON{Key: "192.0.2.1", Credits: 20, Calls: 8, Refused: 1}, tops["ip"][0], "httptest's RemoteAddr")
	assert.Equal(t, countJSON{Key: "POST", Credits: 15, Calls: 3, Refused: 1}, tops["method"][0])

	assert.Equal(t, http.StatusNotFound, dashGet(t, d, "/dashboard/other").Code)
	assert.Equal(t, http.StatusNotFound, dashGet(t, d, "/dashboard/api/nothing").Code)
	rec := httptest.NewRecorder()
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

// A drill-down: an application's users, IPs, modules and methods, and a
// user's IPs and modules, with the key's own totals and series.
func TestDashboardDrillDown(t *testing.T) {
	e := dashEnv(t)
	d := Dashboard(e.l, atHalfPast())
	top := getJSON[topJSON](t, d, "/d/api/top?dim=user&app=exporter")
	assert.Equal(t, &filterJSON{Dim: "app", Key: "exporter"}, top.Filter)
	assert.Equal(t, &countJSON{Key: "exporter", Credits: 16, Calls: 4, Refused: 1}, top.Total)
	assert.Equal(t, []countJSON{{Key: "bob", Credits: 16, Calls: 4, Refused: 1}}, top.Items)
	mods := getJSON[topJSON](t, d, "/d/api/top?dim=module&app=exporter").Items
	assert.Equal(t, []countJSON{{Key: "", Kind: "none", Credits: 15, Calls: 3, Refused: 1}, {Key: "Deals", Credits: 1, Calls: 1}}, mods)
	webform := getJSON[topJSON](t, d, "/d/api/top?dim=method&app=webform").Items
	assert.Equal(t, []countJSON{{Key: "GET", Credits: 3, Calls: 3}}, webform)
	ips := getJSON[topJSON](t, d, "/d/api/top?dim=ip&user=ann")
	assert.Equal(t, []countJSON{{Key: "192.0.2.1", Credits: 3, Calls: 3}}, ips.Items)
	none := getJSON[topJSON](t, d, "/d/api/top?dim=module&user=")
	assert.Equal(t, []countJSON{{Key: "Leads", Credits: 1, Calls: 1}}, none.Items, "the calls with no user: the hostile app's")

	p := getJSON[periodJSON](t, d, "/d/api/period?app=exporter")
	assert.Equal(t, [3]int64{16, 4, 1}, [3]int64{p.Used, p.Calls, p.Refused})
	assert.Nil(t, p.Capacity, "a key has no pool of its own")
	assert.Equal(t, int64(10), p.Points[20].Credits)
	assert.Equal(t, int64(6), p.Points[23].Credits)
	assert.Equal(t, &filterJSON{Dim: "app", Key: "exporter"}, p.Filter)

	// Rows past n are summed into "other": the rows still add up.
	two := getJSON[topJSON](t, d, "/d/api/top?dim=app&n=1")
	assert.Equal(t, []countJSON{{Key: "exporter", Credits: 16, Calls: 4, Refused: 1},
		{Key: "other", Kind: "other", Credits: 4, Calls: 4}}, two.Items)
}

func TestDashboardWithoutUsage(t *testing.T) {
	// A limiter without usage recording: the endpoints answer with empty lists.
	l, err := limiter.New(testPlan(20, 5, 5))
	require.NoError(t, err)
	d := Dashboard(l)
	rec := dashGet(t, d, "/api/top?dim=ip")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"dim":"ip","items":[]}`, rec.Body.String())
	p := getJSON[periodJSON](t, d, "/api/period?period=30d")
	assert.Len(t, p.Points, 30)
	assert.Equal(t, int64(0), p.Used)
	assert.JSONEq(t, `{"tenants":[],"items":[]}`, dashGet(t, d, "/api/tenants").Body.String())
	assert.JSONEq(t, `{"enabled":false,"thresholds":[],"crossed":[],"items":[]}`, dashGet(t, d, "/api/alerts").Body.String())
}

// fakeSource is a DashboardSource over statistics recorded directly: what
// a client transport will be.
type fakeSource struct {
	u    *usage.Stats
	pool Pool
}

func (f *fakeSource) Usage() *usage.Stats                { return f.u }
func (f *fakeSource) Pool(time.Time, string) Pool        { return f.pool }
func (f *fakeSource) record(at time.Time, e usage.Event) { e.At = at; f.u.Record(e) }

func newFakeSource(t *testing.T, limit int64) *fakeSource {
	u := usage.New(30*24*time.Hour, 100)
	t.Cleanup(func() { _ = u.Close(context.Background()) })
	return &fakeSource{u: u, pool: Pool{Limit: limit, Window: 24 * time.Hour, Name: "client view"}}
}

// The client's view (issue #20 item 6): any source serves the same page,
// and the credits others spent (usage.Stats.RecordOutside) are their own
// row.
func TestDashboardOfClientView(t *testing.T) {
	src := newFakeSource(t, 100)
	src.record(t0, usage.Event{App: "sync", Credits: 30})
	src.u.RecordOutside(t0, "", 45)
	d := DashboardOf(src, WithDashboardClock(func() time.Time { return t0 }))
	top := getJSON[topJSON](t, d, "/api/top?dim=app")
	assert.Equal(t, []countJSON{{Key: usage.Outside, Kind: "outside", Credits: 45}, {Key: "sync", Credits: 30, Calls: 1}}, top.Items)
	p := getJSON[periodJSON](t, d, "/api/period")
	assert.Equal(t, [3]int64{75, 1, 25}, [3]int64{p.Used, p.Calls, *p.Unused})
	assert.Panics(t, func() { DashboardOf(nil) })
}

func TestDashboardLimits(t *testing.T) {
	e := dashEnv(t)
	d := Dashboard(e.l, WithTopN(1), WithDashboardClock(func() time.Time { return t0 }))
	top := getJSON[topJSON](t, d, "/api/top?dim=app")
	require.Len(t, top.Items, 2, "the top one and the rest as other")
	assert.Equal(t, "exporter", top.Items[0].Key)
	assert.Len(t, getJSON[topJSON](t, d, "/api/top?dim=app&n=1000").Items, 3)
	s := getJSON[summaryJSON](t, d, "/api/summary?tenant=nobody")
	assert.Equal(t, "nobody", s.Tenant)
	assert.Equal(t, int64(20), s.Limit, "an unseen tenant has the default plan's whole pool")
	assert.Equal(t, int64(0), s.Used)
	assert.Len(t, getJSON[topJSON](t, Dashboard(e.l, WithTopN(5000), atHalfPast()), "/api/top?dim=app").Items, 3, "WithTopN is capped")
	assert.True(t, strings.HasPrefix(dashGet(t, d, "/api/me").Header().Get("Content-Type"), "application/json"))
}
