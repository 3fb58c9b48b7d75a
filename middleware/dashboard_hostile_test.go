package middleware

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/usage"
)

// A tenant token reads its own tenant only. A tenant whose name is
// usage.Other shares its statistics with every tenant folded past the
// tenant cap (usage.DefaultTenants): its token must not read their
// applications, users and IPs.
func TestDashboardTenantOtherReadsNoFoldedTenant(t *testing.T) {
	e := newEnv(t, testPlan(20, 5, 5), okHandler())
	for i := range usage.DefaultTenants {
		e.usage.Record(usage.Event{At: t0, Tenant: fmt.Sprint("t", i), App: "app", Credits: 1})
	}
	require.Len(t, e.usage.Tenants(), usage.DefaultTenants) // aggregated: the next tenant folds
	e.usage.Record(usage.Event{At: t0, Tenant: "secret-corp", App: "secret-app", User: "ceo@secret-corp", IP: "198.51.100.7", Credits: 1})
	d := Dashboard(e.l, atHalfPast(), WithTenantToken(usage.Other, "other-tok"))
	bearer := []string{"Authorization", "Bearer other-tok"}
	for _, target := range []string{"/api/top?dim=app", "/api/top?dim=user", "/api/top?dim=ip",
		"/api/top?dim=user&app=secret-app", "/api/top?dim=app&format=csv", "/api/period", "/api/period?app=secret-app"} {
		rec := dashGet(t, d, target, bearer...)
		body := rec.Body.String()
		assert.NotContains(t, body, "secret", "%s: a tenant named other reads a folded tenant's usage", target)
		if rec.Code == http.StatusOK && strings.HasPrefix(target, "/api/period") {
			p := getJSON[periodJSON](t, d, target, bearer...)
			assert.Zero(t, p.Calls, "%s: the folded tenants' calls", target)
		}
	}
	// Its pool is its own.
	assert.Equal(t, usage.Other, getJSON[summaryJSON](t, d, "/api/summary", bearer...).Tenant)
	// The operator still reads Other's usage.
	op := Dashboard(e.l, atHalfPast())
	top := getJSON[topJSON](t, op, "/api/top?dim=app&tenant=other")
	require.NotEmpty(t, top.Items)
	assert.Equal(t, "secret-app", top.Items[0].Key)
}

// A local day is the hours that start in it, in every zone: also where
// the clocks skip midnight (Havana and Santiago go from 23:59 to 01:00,
// Beirut and Cairo from 00:00 to 01:00), where time.Date gives the day
// before's 23:00 or the day's 01:00 for its midnight. Around each of
// 2026's changes in such zones, today's (and the next day's yesterday's)
// hours start in that day and none of it is left out; each of the 30
// days' buckets starts at its own day's first hour.
func TestDashboardDaysWhereMidnightIsSkipped(t *testing.T) {
	src := newFakeSource(t, 240)
	for _, zone := range []string{"America/Havana", "America/Santiago", "Asia/Beirut", "Africa/Cairo", "Europe/Paris", "Australia/Lord_Howe", "Asia/Kathmandu"} {
		loc, err := time.LoadLocation(zone)
		require.NoError(t, err)
		var now time.Time
		d := DashboardOf(src, WithDashboardClock(func() time.Time { return now }), WithLocation(loc))
		date := func(t time.Time) string { return t.In(loc).Format(dateLayout) }
		// checkDay checks that [from, to) are the hours starting in day.
		checkDay := func(what, day string, from, to time.Time) bool {
			return assert.Equal(t, day, date(from), "%s %s: the first hour", zone, what) &&
				assert.Less(t, date(from.Add(-time.Hour)), day, "%s %s: the hour before the first", zone, what) &&
				assert.Equal(t, day, date(to.Add(-time.Hour)), "%s %s: the last hour", zone, what) &&
				assert.Greater(t, date(to), day, "%s %s: the end", zone, what)
		}
		// The days around each change of offset in 2026, and one without.
		days := []time.Time{time.Date(2026, 1, 15, 12, 0, 0, 0, loc)}
		for at := time.Date(2026, 1, 1, 0, 0, 0, 0, loc); ; {
			_, end := at.ZoneBounds()
			if end.IsZero() || end.Year() > 2026 {
				break
			}
			mid := end.In(loc)
			for _, i := range []int{-1, 0, 1, 20} { // 20: the 30 days' buckets from the next month
				days = append(days, time.Date(mid.Year(), mid.Month(), mid.Day()+i, 12, 0, 0, 0, loc))
			}
			at = end
		}
	days:
		for _, day := range days {
			now = day
			p := getJSON[periodJSON](t, d, "/api/period?period=today")
			if !checkDay("today", date(day), p.From, p.To) {
				break days // one failure per zone
			}
			now = day.AddDate(0, 0, 1)
			p = getJSON[periodJSON](t, d, "/api/period?period=yesterday")
			if !checkDay("yesterday", date(day), p.From, p.To) {
				break days
			}
			p = getJSON[periodJSON](t, d, "/api/period?date="+date(day))
			if !checkDay("date", date(day), p.From, p.To) {
				break days
			}
			p = getJSON[periodJSON](t, d, "/api/period?period=30d")
			for i, pt := range p.Points {
				end := p.To
				if i+1 < len(p.Points) {
					end = p.Points[i+1].Start
				}
				if !checkDay("30d", date(pt.Start), pt.Start, end) {
					break days
				}
			}
		}
	}
}

// Recording through the middleware and reading the dashboard at once
// (run with -race): every answer is well formed, and afterwards the
// dashboard counts every call made.
func TestDashboardConcurrentRecordAndQuery(t *testing.T) {
	e := newEnv(t, testPlan(1_000_000, 1000, 1000), okHandler())
	d := Dashboard(e.l, WithDashboardClock(func() time.Time { return t0 }))
	const writers, calls = 4, 150
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for i := range calls {
				rec := e.do("GET", "/crm/Leads", "", HeaderClientID, fmt.Sprint("app", (w*calls+i)%150), HeaderUserID, fmt.Sprint("user", i%7))
				assert.Equal(t, http.StatusOK, rec.Code)
			}
		})
	}
	var readers sync.WaitGroup
	for r := range 2 {
		readers.Go(func() {
			targets := []string{"/api/top?dim=app&n=5", "/api/top?dim=user&app=app1", "/api/period", "/api/tenants",
				"/api/top?dim=app&format=csv", "/api/period?period=30d", "/api/summary", "/api/me"}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				rec := dashGet(t, d, targets[(i+r)%len(targets)])
				assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	p := getJSON[periodJSON](t, d, "/api/period")
	assert.Equal(t, int64(writers*calls), p.Calls)
	top := getJSON[topJSON](t, d, "/api/top?dim=app&n=1000")
	var sum int64
	for _, c := range top.Items {
		sum += c.Calls
	}
	assert.Equal(t, int64(writers*calls), sum)
}

// Asking the dashboard about tenants that never called keeps nothing:
// no statistics, no pool (Peek creates nothing), whatever the names.
func TestDashboardQueriesKeepNothing(t *testing.T) {
	e := newEnv(t, testPlan(20, 5, 5), okHandler())
	d := Dashboard(e.l, WithDashboardClock(func() time.Time { return t0 }))
	ask := func(i int) {
		tenant := url.QueryEscape(fmt.Sprintf("\xff<%d>\r\n", i))
		for _, target := range []string{"/api/summary?tenant=", "/api/period?tenant=", "/api/top?dim=app&tenant="} {
			assert.Equal(t, http.StatusOK, dashGet(t, d, target+tenant).Code)
		}
	}
	ask(-1) // whatever a first request allocates for good
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 2000 {
		ask(i)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	assert.Empty(t, e.usage.Tenants())
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	assert.Less(t, grew, int64(256<<10), "2000 tenants asked about grew the heap by %d bytes", grew)
}

// A row's drill-down finds its calls whatever the key's bytes: an
// application named in Latin-1 ("caf\xe9", not UTF-8), which JSON shows
// with U+FFFD, is asked for by that name, as the page's link does.
func TestDashboardDrillDownKeyNotUTF8(t *testing.T) {
	e := newEnv(t, testPlan(20, 5, 5), okHandler())
	e.do("GET", "/crm/Leads", "", HeaderClientID, "caf\xe9", HeaderUserID, "bob")
	d := Dashboard(e.l, WithDashboardClock(func() time.Time { return t0 }))
	top := getJSON[topJSON](t, d, "/api/top?dim=app")
	require.Len(t, top.Items, 1)
	key := top.Items[0].Key
	users := getJSON[topJSON](t, d, "/api/top?dim=user&app="+url.QueryEscape(key))
	assert.Equal(t, []countJSON{{Key: "bob", Credits: 1, Calls: 1}}, users.Items, "the breakdown of the row %q", key)
	p := getJSON[periodJSON](t, d, "/api/period?app="+url.QueryEscape(key))
	assert.Equal(t, int64(1), p.Calls, "the period of the row %q", key)
}

// The thresholds a pool's use has reached are right for any pool a
// server may report (a client's view reads it from limit headers): a
// pool of 2^60 or MaxInt64 credits with nothing used has reached none,
// half used none of 80, 90 and 100, and wholly used all of them. (Used
// times 100 and Limit times a threshold overflowed int64: 2^60·80 is
// 0 mod 2^64, so every use reached 80 %.)
func TestDashboardAlertsHugePool(t *testing.T) {
	src := newFakeSource(t, 0)
	d := DashboardOf(src, WithAlertLog(NewAlertLog(nil, 0)), WithDashboardClock(func() time.Time { return t0 }))
	for _, limit := range []int64{1 << 60, math.MaxInt64} {
		for _, c := range []struct {
			used int64
			want []int
		}{{0, []int{}}, {limit / 2, []int{}}, {limit - limit/10, []int{80, 90}}, {limit, []int{80, 90, 100}}} {
			src.pool = Pool{Limit: limit, Used: c.used, Window: time.Hour}
			a := getJSON[alertsJSON](t, d, "/api/alerts")
			assert.Equal(t, c.want, a.Crossed, "limit %d, used %d", limit, c.used)
		}
	}
}

// usage.Outside names an application (credits spent outside this
// process); a tenant, user, IP, module or method that a client names
// "(outside)" is a key like any other, with its own label and link on the
// page: its row has no kind.
func TestDashboardOutsideOnlyAnApplication(t *testing.T) {
	src := newFakeSource(t, 100)
	o := usage.Outside
	src.record(t0, usage.Event{Tenant: o, App: "a", User: o, IP: o, Module: o, Method: o, Credits: 1})
	src.u.RecordOutside(t0, o, 5)
	d := DashboardOf(src, WithDashboardClock(func() time.Time { return t0 }))
	for _, dim := range []string{"user", "ip", "module", "method"} {
		top := getJSON[topJSON](t, d, "/api/top?tenant=%28outside%29&dim="+dim)
		assert.Equal(t, []countJSON{{Key: o, Credits: 1, Calls: 1}}, top.Items, dim) // settled credits count by application only
	}
	top := getJSON[topJSON](t, d, "/api/top?tenant=%28outside%29&dim=app")
	assert.Equal(t, []countJSON{{Key: o, Kind: "outside", Credits: 5}, {Key: "a", Credits: 1, Calls: 1}}, top.Items, "the application")
	ts := getJSON[tenantsJSON](t, d, "/api/tenants")
	assert.Equal(t, []countJSON{{Key: o, Credits: 6, Calls: 1}}, ts.Items, "the tenant")
}

// An answer that cannot be encoded (a source's pool resetting past year
// 9999, which JSON's time cannot say) is an error the client sees, not a
// 200 with an empty body.
func TestDashboardUnencodableAnswer(t *testing.T) {
	src := newFakeSource(t, 100)
	src.pool.Reset = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	d := DashboardOf(src, WithDashboardClock(func() time.Time { return t0 }))
	rec := dashGet(t, d, "/api/summary")
	assert.Equal(t, http.StatusInternalServerError, rec.Code, "%q", rec.Body.String())
	assert.NotEmpty(t, decodeBody(t, rec).Detail)
}

// A day the zone skipped whole (Samoa went from 29 to 31 December 2011)
// has no hours, and the days around it have their 24: time.Date gives
// the 29th's midnight for the 30th's.
func TestDashboardDaySkippedWhole(t *testing.T) {
	apia, err := time.LoadLocation("Pacific/Apia")
	require.NoError(t, err)
	var hours []float64
	for d := 29; d <= 31; d++ {
		hours = append(hours, dayStart(2011, 12, d+1, apia).Sub(dayStart(2011, 12, d, apia)).Hours())
	}
	assert.Equal(t, []float64{24, 0, 24}, hours, "29, 30 and 31 December 2011 in Samoa")
}

// A tenant recorded under a name that is not valid UTF-8 is reachable by
// drill-down: its row's key, as the JSON API shows it, finds its calls
// (JSON shows an invalid byte as U+FFFD, which the statistics did not
// keep). Two such tenants that differ only in their invalid bytes keep
// two rows, each drilling down to its own calls.
func TestDashboardDrillDownTenantNotUTF8(t *testing.T) {
	src := newFakeSource(t, 100)
	src.u.Record(usage.Event{At: t0, Tenant: "caf\xe9", App: "a", Credits: 1})
	src.u.Record(usage.Event{At: t0, Tenant: "caf\xe8", App: "b", Credits: 2})
	src.u.Record(usage.Event{At: t0, Tenant: "caf\xe8", App: "b", Credits: 2})
	d := DashboardOf(src, WithDashboardClock(func() time.Time { return t0 }))
	ts := getJSON[tenantsJSON](t, d, "/api/tenants")
	require.Len(t, ts.Items, 2, "two tenants, two rows: %+v", ts.Items)
	want := map[int64]string{1: "a", 2: "b"} // calls: application
	for _, row := range ts.Items {
		q := "tenant=" + url.QueryEscape(row.Key)
		p := getJSON[periodJSON](t, d, "/api/period?"+q)
		assert.Equal(t, row.Calls, p.Calls, "the period of the row %q", row.Key)
		apps := getJSON[topJSON](t, d, "/api/top?dim=app&"+q)
		require.Len(t, apps.Items, 1, "the applications of the row %q", row.Key)
		assert.Equal(t, want[row.Calls], apps.Items[0].Key, "the applications of the row %q", row.Key)
	}
}

// Credits near MaxInt64 in each of two hours (a client's view takes them
// from a server's headers) saturate in the period's day and its total
// instead of wrapping to a negative use.
func TestDashboardPeriodCreditsSaturate(t *testing.T) {
	src := newFakeSource(t, 100)
	src.u.RecordOutside(t0.Add(-2*time.Hour), "t", math.MaxInt64-1)
	src.u.RecordOutside(t0.Add(-time.Hour), "t", math.MaxInt64-1)
	d := DashboardOf(src, WithDashboardClock(func() time.Time { return t0 }))
	for _, period := range []string{"24h", "30d"} {
		p := getJSON[periodJSON](t, d, "/api/period?tenant=t&period="+period)
		assert.Equal(t, int64(math.MaxInt64), p.Used, "the %s period's use", period)
		var most int64
		for _, pt := range p.Points {
			most = max(most, pt.Credits)
			assert.GreaterOrEqual(t, pt.Credits, int64(0), "the %s period's point %s", period, pt.Label)
		}
		assert.Equal(t, int64(math.MaxInt64-1), min(most, math.MaxInt64-1), "the %s period's busiest point", period)
	}
}
