package middleware

import (
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the period tests' zones, whatever the machine has

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/usage"
)

// Every parameter's bad values get a 400 whose detail says which
// parameter and what it takes (never quoting the value).
func TestDashboardBadParams(t *testing.T) {
	e := dashEnv(t) // statistics kept 48 hours; now is t0+30m, 2026-11-22 10:30 UTC
	d := Dashboard(e.l, atHalfPast())
	long := url.QueryEscape(strings.Repeat("x", usage.MaxKeyBytes+1))
	for _, c := range []struct{ target, detail string }{
		{"/api/top", "dim must be one of"},
		{"/api/top?dim=", "dim must be one of"},
		{"/api/top?dim=apps", "dim must be one of"},
		{"/api/top?dim=app&dim=user", "more than once"},
		{"/api/top?dim=app&n=0", "n must be a whole number from 1 to 1000"},
		{"/api/top?dim=app&n=-1", "n must be"},
		{"/api/top?dim=app&n=1001", "n must be"},
		{"/api/top?dim=app&n=x", "n must be"},
		{"/api/top?dim=app&n=1.5", "n must be"},
		{"/api/top?dim=app&n=", "n must be"},
		{"/api/top?dim=app&period=week", "period must be one of 24h, today, yesterday, 30d, date"},
		{"/api/period?period=", "period must be one of"},
		{"/api/period?period=24h&date=2026-11-21", "date goes with period=date only"},
		{"/api/period?period=date", "date must be a day as YYYY-MM-DD"},
		{"/api/period?date=2026-13-01", "date must be a day"},
		{"/api/period?date=20261121", "date must be a day"},
		{"/api/period?date=2026-11-21T00:00", "date must be a day"},
		{"/api/period?date=2026-11-23", "date is in the future"},
		{"/api/period?date=2026-11-19", "date is older than the statistics keep"},
		{"/api/top?dim=user&app=a&user=b", "by app or by user, not both"},
		{"/api/top?dim=app&app=a", "app breaks down by user, ip, module or method; user by ip or module"},
		{"/api/top?dim=method&user=a", "app breaks down by"},
		{"/api/top?dim=app&user=a", "app breaks down by"},
		{"/api/top?dim=user&app=" + long, "app or user is longer"},
		{"/api/period?user=" + long, "app or user is longer"},
		{"/api/summary?tenant=" + long, "tenant is longer"},
		{"/api/top?dim=app&format=xml", "format must be json or csv"},
		{"/api/top?dim=app&format=", "format must be json or csv"},
		{"/api/summary?format=csv", "unknown parameter; this endpoint takes tenant"},
		{"/api/top?dim=app&hours=4", "unknown parameter; this endpoint takes tenant, period, date, dim, n, app, user, format"},
		{"/api/tenants?tenant=a", "unknown parameter; this endpoint takes period, date, format"},
		{"/api/alerts?period=24h", "unknown parameter"},
		{"/api/me?tenant=", "unknown parameter"},
		{"/api/period?x=%zz", "the query string is malformed"},
		{"/api/period?tenant=a&tenant=a", "more than once"},
	} {
		rec := dashGet(t, d, c.target)
		require.Equal(t, http.StatusBadRequest, rec.Code, c.target)
		assert.Contains(t, decodeBody(t, rec).Detail, c.detail, c.target)
	}
	// The same parameters' good values, for contrast.
	for _, target := range []string{"/api/top?dim=app&n=1000", "/api/period?date=2026-11-20", "/api/period?period=date&date=2026-11-22",
		"/api/top?dim=method&app=a", "/api/top?dim=module&user=", "/api/top?dim=app&format=json", "/api/top?dim=app&token=ignored"} {
		assert.Equal(t, http.StatusOK, dashGet(t, d, target).Code, target)
	}
}

func TestDashboardPeriods(t *testing.T) {
	src := newFakeSource(t, 240)
	for _, at := range []string{
		"2026-11-01T10:00:00Z", // 30d only
		"2026-11-21T09:30:00Z", // yesterday, not in the last 24 hours (which start at 11:00)
		"2026-11-21T21:30:00Z", // 23:30 yesterday in UTC+2, in the last 24 hours
		"2026-11-21T22:30:00Z", // 00:30 today
		"2026-11-22T10:10:00Z", // 12:10 today
	} {
		ts, err := time.Parse(time.RFC3339, at)
		require.NoError(t, err)
		src.record(ts, usage.Event{App: "a", Credits: 10})
	}
	now := time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)
	d := DashboardOf(src, WithDashboardClock(func() time.Time { return now }), WithLocation(time.FixedZone("UTC+2", 2*3600)))
	for _, c := range []struct {
		query       string
		points      int
		first, last string
		used, calls int64
		capacity    int64
		days        int
		future      int
	}{
		{"", 24, "2026-11-21T13:00:00+02:00", "2026-11-22T12:00:00+02:00", 30, 3, 240, 1, 0},
		{"period=today", 24, "2026-11-22T00:00:00+02:00", "2026-11-22T23:00:00+02:00", 20, 2, 240, 1, 11},
		{"period=yesterday", 24, "2026-11-21T00:00:00+02:00", "2026-11-21T23:00:00+02:00", 20, 2, 240, 1, 0},
		{"period=30d", 30, "2026-10-24T00:00:00+02:00", "2026-11-22T00:00:00+02:00", 50, 5, 7200, 30, 0},
		{"date=2026-11-01", 24, "2026-11-01T00:00:00+02:00", "2026-11-01T23:00:00+02:00", 10, 1, 240, 1, 0},
	} {
		p := getJSON[periodJSON](t, d, "/api/period?"+c.query)
		require.Len(t, p.Points, c.points, c.query)
		future := 0
		for _, pt := range p.Points {
			future += map[bool]int{true: 1}[pt.Future]
		}
		assert.Equal(t, c.first, p.Points[0].Start.Format(time.RFC3339), c.query)
		assert.Equal(t, c.last, p.Points[c.points-1].Start.Format(time.RFC3339), c.query)
		assert.Equal(t, [3]int64{c.used, c.calls, c.capacity}, [3]int64{p.Used, p.Calls, *p.Capacity}, c.query)
		assert.Equal(t, [2]int{c.days, c.future}, [2]int{p.Days, future}, c.query)
		assert.Equal(t, *p.Capacity-c.used, *p.Unused, c.query)
		assert.InDelta(t, float64(c.calls)/float64(c.days), p.AvgCallsPerDay, 1e-9, c.query)
		assert.Equal(t, "UTC+2", p.TZ)
	}
	days := getJSON[periodJSON](t, d, "/api/period?period=30d").Points
	assert.Equal(t, "Sun 1 Nov", days[8].Label)
	assert.Equal(t, int64(10), days[8].Credits)
	assert.Equal(t, [2]int64{20, 20}, [2]int64{days[28].Credits, days[29].Credits}, "21 and 22 November, local")
}

// A day in a zone with a daylight-saving change has 23 or 25 hours, and
// its pool's capacity follows; a zone whose offset is not whole hours
// counts the hours that start in the local day.
func TestDashboardPeriodZones(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	src := newFakeSource(t, 240)
	src.record(time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), usage.Event{Credits: 7}) // 02:30 CET, after the change
	now := time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)
	clock := WithDashboardClock(func() time.Time { return now })
	p := getJSON[periodJSON](t, DashboardOf(src, clock, WithLocation(paris)), "/api/period?date=2026-10-25")
	require.Len(t, p.Points, 25, "the day the clocks go back")
	assert.Equal(t, int64(250), *p.Capacity, "25 hours of a 24-hour pool of 240")
	assert.Equal(t, "02:00", p.Points[3].Label)
	assert.Equal(t, int64(7), p.Points[3].Credits)

	india := time.FixedZone("IST", 5*3600+1800)
	src.record(time.Date(2026, 11, 21, 18, 45, 0, 0, time.UTC), usage.Event{Credits: 3}) // 00:15 on the 22nd in IST
	src.record(time.Date(2026, 11, 21, 19, 5, 0, 0, time.UTC), usage.Event{Credits: 4})  // 00:35
	p = getJSON[periodJSON](t, DashboardOf(src, clock, WithLocation(india)), "/api/period?period=today")
	require.Len(t, p.Points, 24)
	assert.Equal(t, "00:30", p.Points[0].Label, "the first hour that starts in the day")
	assert.Equal(t, int64(4), p.Used, "the hour from 18:00 UTC started on the 21st, local")
}

// A pool so large for its window that the period's capacity passes int64
// (a server may say 2^53 credits a second) shows the largest capacity,
// not a negative one from the float's overflow.
func TestDashboardPeriodCapacityHuge(t *testing.T) {
	src := newFakeSource(t, 1<<53)
	src.pool.Window = time.Second
	src.record(t0, usage.Event{Credits: 7})
	d := DashboardOf(src, WithDashboardClock(func() time.Time { return t0 }))
	for _, q := range []string{"period=24h", "period=30d"} {
		p := getJSON[periodJSON](t, d, "/api/period?"+q)
		require.NotNil(t, p.Capacity, q)
		assert.Equal(t, [2]int64{math.MaxInt64, math.MaxInt64 - 7}, [2]int64{*p.Capacity, *p.Unused}, q)
	}
}
