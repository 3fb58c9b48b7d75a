package middleware

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/usage"
)

// hostile is a name a client may send; the page must show it as text.
const hostile = `<img src=x onerror="document.body.setAttribute('data-pwned','1')">`

// richNow is the browser test's now: a Tuesday afternoon in Paris.
var richNow = time.Date(2026, 11, 24, 15, 20, 0, 0, time.UTC)

// richDashboard serves a month of traffic of a CRM's integrations, through
// a limiter with usage and an alert log, as a demo would show it.
func richDashboard(t *testing.T) (*httptest.Server, http.Handler) {
	t.Helper()
	u := usage.New(30*24*time.Hour, 100)
	alerts := NewAlertLog(nil, 0)
	l, err := limiter.New(limiter.Plan{Name: "enterprise", Credits: 50_000, Concurrency: 20},
		limiter.WithUsage(u), limiter.WithAlerts(alerts.Thresholds(), alerts.Add))
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = l.Close(context.Background())
		_ = u.Close(context.Background())
	})
	demoTraffic(l, paris(t))
	d := Dashboard(l, WithAlertLog(alerts), WithLocation(paris(t)), WithDashboardClock(func() time.Time { return richNow }),
		WithToken("op"), WithTenantToken("globex", "globex-tok"))
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	// Alerts go through the limiter's goroutine: wait until the surge's are in.
	deadline := time.Now().Add(5 * time.Second)
	for len(alerts.Alerts("acme")) < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	return srv, d
}

// integration is one of the demo's API clients.
type integration struct {
	app, method, module string
	users, ips          []string
	credits, perHour    int64
	office              bool // busy in office hours only
}

var demoIntegrations = []integration{
	{"bulk-exporter", "POST", "", []string{"svc-export"}, []string{"10.0.4.17"}, 50, 10, false},
	{"crm-sync", "PUT", "Contacts", []string{"svc-sync"}, []string{"10.0.4.21", "10.0.4.22"}, 10, 40, false},
	{"web-forms", "POST", "Leads", []string{"ann", "bob", "chloé", "dmitri"}, []string{"203.0.113.5", "203.0.113.9", "198.51.100.7"}, 1, 60, true},
	{"reporting", "GET", "Deals", []string{"eve", "ann"}, []string{"198.51.100.23"}, 5, 12, true},
	{"mobile-app", "GET", "Accounts", []string{"field-1", "field-2", "field-3", hostile}, []string{"192.0.2.44", "192.0.2.45"}, 1, 25, true},
	{hostile, "DELETE", "Leads", []string{"mallory"}, []string{"192.0.2.66"}, 2, 2, false},
}

// demoTraffic sends 30 days of calls up to richNow, minute by minute (so
// that time only moves on): tenant acme's integrations, busier in office
// hours in loc, and over the last 20 hours an exporter that ran away and
// drained the pool; two small tenants besides.
func demoTraffic(l *limiter.Limiter, loc *time.Location) {
	rng := rand.New(rand.NewPCG(7, 11))
	acquire := func(at time.Time, r limiter.Request) {
		if tk, dec := l.Acquire(at, r); dec.Allowed {
			tk.Release()
		}
	}
	for at := richNow.Truncate(time.Hour).Add(-30 * 24 * time.Hour); !at.After(richNow); at = at.Add(time.Minute) {
		local := at.In(loc)
		office := local.Weekday() != time.Sunday && local.Weekday() != time.Saturday && local.Hour() >= 8 && local.Hour() < 19
		for _, in := range demoIntegrations {
			perHour := in.perHour
			if in.office && !office {
				perHour /= 8
			}
			if in.app == "bulk-exporter" && richNow.Sub(at) < 20*time.Hour {
				perHour *= 12
			}
			for range perHour/60 + btoi(rng.Int64N(60) < perHour%60) {
				acquire(at, limiter.Request{Tenant: "acme", App: in.app, Credits: in.credits, User: in.users[rng.IntN(len(in.users))],
					IP: in.ips[rng.IntN(len(in.ips))], Module: in.module, Method: in.method})
			}
		}
		if at.Minute() == 30 {
			for _, other := range []string{"globex", "initech"} {
				acquire(at, limiter.Request{Tenant: other, App: "sync", Credits: int64(len(other)), Method: "GET", Module: "Leads"})
			}
		}
	}
}

// dashPage is what the browser test's steps share.
type dashPage struct {
	url, base string // the server's URL; the operator's page of tenant acme
	d         http.Handler
}

// TestDashboardInBrowser drives the page in headless Chromium as a user
// would: each step clicks, types or navigates, then checks what the page
// shows (against the JSON API where it shows figures).
func TestDashboardInBrowser(t *testing.T) {
	chromium(t) // skip or fail before building anything
	srv, d := richDashboard(t)
	pg := &dashPage{url: srv.URL, base: srv.URL + "/dashboard/?token=op&tenant=acme", d: d}
	b := newBrowser(t)
	b.viewport(1440, 1000)
	b.open(pg.base)
	for _, step := range []struct {
		name string
		f    func(*testing.T, *browser, *dashPage)
	}{
		{"operator", browseOperator},
		{"periods", browsePeriods},
		{"drill down and back", browseDrillDownAndBack},
		{"sort", browseSort},
		{"keyboard", browseKeyboard},
		{"hostile names are text", browseHostileNamesAreText},
		{"alerts", browseAlerts},
		{"screenshot", browseScreenshot},
		{"phone width", browsePhoneWidth},
		{"tenant token", browseTenantToken},
		{"no token", browseNoToken},
	} {
		t.Run(step.name, func(st *testing.T) {
			b.t = st // the browser's failures are the step's
			defer func() { b.t = t }()
			step.f(st, b, pg)
		})
	}
}

func browseOperator(t *testing.T, b *browser, pg *dashPage) {
	assert.False(t, eval[bool](b, "document.getElementById('tenant-picker').hidden"), "the picker is shown")
	assert.Equal(t, []string{"acme", "globex", "initech"}, eval[[]string](b,
		"Array.from(document.querySelectorAll('#tenant-picker option')).map(o => o.textContent)"))
	assert.Equal(t, "acme", eval[string](b, "document.getElementById('tenant-picker').value"))
	assert.Equal(t, []string{"acme", "initech", "globex"}, eval[[]string](b,
		"Array.from(document.querySelectorAll('#table-tenants tbody tr')).map(r => r.getAttribute('data-key'))"), "tenants by use")
	// The picker switches tenants.
	b.act("const p = document.getElementById('tenant-picker'); p.value = 'globex'; p.dispatchEvent(new Event('change'))")
	assert.Contains(t, eval[string](b, "location.search"), "tenant=globex")
	assert.Equal(t, []string{"sync"}, eval[[]string](b, "Array.from(document.querySelectorAll('#top-app .bar')).map(g => g.getAttribute('data-key'))"))
	b.act("history.back()")
	assert.Contains(t, eval[string](b, "location.search"), "tenant=acme")
}

func browsePeriods(t *testing.T, b *browser, pg *dashPage) {
	for _, c := range []struct {
		preset string
		points int
	}{{"today", 24}, {"yesterday", 24}, {"30d", 30}, {"24h", 24}} {
		b.act(fmt.Sprintf("document.querySelector('.presets button[data-period=%q]').click()", c.preset))
		assert.Equal(t, c.preset, eval[string](b, "document.body.getAttribute('data-period')"))
		assert.Equal(t, "true", eval[string](b, fmt.Sprintf("document.querySelector('.presets button[data-period=%q]').getAttribute('aria-pressed')", c.preset)))
		assert.Equal(t, c.points, eval[int](b, "Number(document.getElementById('period-chart').getAttribute('data-points'))"), c.preset)
		// The figures shown are the API's for the period.
		p := getJSON[periodJSON](t, pg.d, "/dashboard/api/period?tenant=acme&period="+c.preset, "Authorization", "Bearer op")
		assert.Equal(t, fmt.Sprint(p.Used), eval[string](b, "document.getElementById('period-chart').getAttribute('data-used')"), c.preset)
		assert.Equal(t, commas(p.Used), eval[string](b, "document.getElementById('k-used').textContent"), c.preset)
		assert.Equal(t, commas(p.Calls), eval[string](b, "document.getElementById('k-calls').textContent"), c.preset)
		assert.Equal(t, commas(*p.Unused), eval[string](b, "document.getElementById('k-unused').textContent"), c.preset)
	}
	b.act("const d = document.getElementById('date-picker'); d.value = '2026-11-19'; d.dispatchEvent(new Event('change'))")
	assert.Contains(t, eval[string](b, "location.search"), "period=date&date=2026-11-19")
	assert.Equal(t, "date", eval[string](b, "document.body.getAttribute('data-period')"))
	assert.Contains(t, eval[string](b, "document.getElementById('view-title').textContent"), "Thu 19 Nov 2026")
	b.act("document.querySelector('.presets button[data-period=\"24h\"]').click()")
}

func browseDrillDownAndBack(t *testing.T, b *browser, pg *dashPage) {
	b.act("document.querySelector('#top-app a[aria-label^=\"Application bulk-exporter\"]').dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true}))")
	assert.Equal(t, "app", eval[string](b, "document.body.getAttribute('data-view')"))
	assert.Contains(t, eval[string](b, "location.search"), "app=bulk-exporter")
	assert.Equal(t, []string{"user", "ip", "module", "method"}, eval[[]string](b,
		"Array.from(document.querySelectorAll('#panels .panel')).map(p => p.getAttribute('data-dim'))"))
	assert.Equal(t, []string{"svc-export"}, eval[[]string](b, "Array.from(document.querySelectorAll('#top-user .bar')).map(g => g.getAttribute('data-key'))"))
	assert.Equal(t, "no module", eval[string](b, "document.querySelector('#table-module tbody td.key').textContent"), "calls with no module, said so")
	// A user of the application opens the user's own view.
	b.act("document.querySelector('#table-user tbody a').click()")
	assert.Equal(t, "user", eval[string](b, "document.body.getAttribute('data-view')"))
	assert.Equal(t, []string{"ip", "module"}, eval[[]string](b, "Array.from(document.querySelectorAll('#panels .panel')).map(p => p.getAttribute('data-dim'))"))
	b.act("history.back()")
	assert.Contains(t, eval[string](b, "location.search"), "app=bulk-exporter")
	b.act("history.back()")
	assert.Equal(t, "all", eval[string](b, "document.body.getAttribute('data-view')"))
	// The drilled-down view is a link, with no token in it: opened afresh
	// (the tab keeps the token), it shows the same.
	assert.NotContains(t, eval[string](b, "location.href"), "token")
	b.open(pg.url + "/dashboard/?tenant=acme&app=web-forms&period=30d")
	assert.Equal(t, "app", eval[string](b, "document.body.getAttribute('data-view')"))
	assert.ElementsMatch(t, []string{"ann", "bob", "chloé", "dmitri"}, eval[[]string](b, "Array.from(document.querySelectorAll('#table-user tbody tr')).map(r => r.getAttribute('data-key'))"))
	b.open(pg.base)
}

func browseSort(t *testing.T, b *browser, pg *dashPage) {
	eval[any](b, "document.getElementById('all-app').open = true")
	keys := "Array.from(document.querySelectorAll('#table-app tbody tr')).map(r => Number(r.children[3].textContent.replace(/,/g, '')))"
	byCredits := eval[[]int](b, "Array.from(document.querySelectorAll('#table-app tbody tr')).map(r => Number(r.children[1].textContent.replace(/,/g, '')))")
	assert.IsNonIncreasing(t, byCredits, "credits first, most first")
	eval[any](b, "document.querySelector('#table-app th button[data-col=\"calls\"]').click()")
	assert.IsNonIncreasing(t, eval[[]int](b, keys), "by calls, most first")
	assert.Equal(t, "descending", eval[string](b, "document.querySelector('#table-app th[aria-sort]').getAttribute('aria-sort')"))
	// The keyboard sorts too: the header button has the focus; Enter reverses.
	b.key("Enter")
	assert.IsNonDecreasing(t, eval[[]int](b, keys), "by calls, fewest first")
	assert.Equal(t, "ascending", eval[string](b, "document.querySelector('#table-app th[aria-sort]').getAttribute('aria-sort')"))
}

func browseKeyboard(t *testing.T, b *browser, pg *dashPage) {
	eval[any](b, "document.querySelector('.presets button[data-period=\"24h\"]').focus()")
	b.key("Tab")
	assert.Equal(t, "today", eval[string](b, "document.activeElement.getAttribute('data-period')"))
	n := b.loads()
	b.key("Enter")
	b.waitFor(fmt.Sprintf("Number(document.body.getAttribute('data-loads')) > %d && document.body.getAttribute('data-ready') === 'true'", n))
	assert.Equal(t, "today", eval[string](b, "document.body.getAttribute('data-period')"))
	b.act("document.querySelector('.presets button[data-period=\"24h\"]').click()")
}

func browseHostileNamesAreText(t *testing.T, b *browser, pg *dashPage) {
	b.open(pg.base + "&period=30d")
	assert.Equal(t, 0, eval[int](b, "document.querySelectorAll('img').length"))
	assert.False(t, eval[bool](b, "document.body.hasAttribute('data-pwned')"))
	assert.True(t, eval[bool](b, fmt.Sprintf("Array.from(document.querySelectorAll('#table-app td.key')).some(td => td.textContent === %s)", jsString(hostile))))
	assert.True(t, eval[bool](b, fmt.Sprintf("Array.from(document.querySelectorAll('#table-user td.key')).some(td => td.textContent === %s)", jsString(hostile))))
	b.act(fmt.Sprintf("document.querySelector('#table-app a[href*=%s]').click()", jsString("onerror")))
	assert.Equal(t, hostile, eval[string](b, "new URLSearchParams(location.search).get('app')"))
	assert.Contains(t, eval[string](b, "document.getElementById('view-title').textContent"), hostile)
	assert.False(t, eval[bool](b, "document.body.hasAttribute('data-pwned')"))
}

func browseAlerts(t *testing.T, b *browser, pg *dashPage) {
	b.open(pg.base)
	assert.Equal(t, []string{"80", "90", "100"}, eval[[]string](b, "Array.from(document.querySelectorAll('#thresholds .chip')).map(c => c.getAttribute('data-threshold'))"))
	assert.Subset(t, eval[[]string](b, "Array.from(document.querySelectorAll('#table-alerts tbody tr')).map(r => r.getAttribute('data-threshold'))"),
		[]string{"80", "90", "100"}, "each crossing in the history")
	when := eval[[]string](b, "Array.from(document.querySelectorAll('#table-alerts tbody tr')).map(r => r.children[0].textContent)")
	assert.IsNonIncreasing(t, when, "newest first")
	assert.LessOrEqual(t, when[0], "2026-11-24 16:20", "in the account's time (Paris), not after now")
	assert.Greater(t, when[0], "2026-11-24 00:00")
	var crossed []string
	for _, th := range getJSON[alertsJSON](t, pg.d, "/dashboard/api/alerts?tenant=acme", "Authorization", "Bearer op").Crossed {
		crossed = append(crossed, fmt.Sprint(th))
	}
	assert.NotEmpty(t, crossed)
	assert.Equal(t, crossed, eval[[]string](b, "Array.from(document.querySelectorAll('#thresholds .chip.crossed')).map(c => c.getAttribute('data-threshold'))"), "the thresholds the pool is past now")
}

func browseScreenshot(t *testing.T, b *browser, pg *dashPage) {
	b.open(pg.base)
	eval[any](b, "document.getElementById('all-app').open = true")
	b.viewport(1440, eval[int](b, "document.documentElement.scrollHeight"))
	shot := b.screenshot()
	b.viewport(1440, 1000)
	require.True(t, len(shot) > 1000 && string(shot[1:4]) == "PNG")
	require.NoError(t, os.WriteFile(filepath.Join(t.TempDir(), "dashboard.png"), shot, 0o644))
	if p := os.Getenv("CREDITGATE_SCREENSHOT"); p != "" {
		require.NoError(t, os.WriteFile(p, shot, 0o644))
	}
}

func browsePhoneWidth(t *testing.T, b *browser, pg *dashPage) {
	b.viewport(390, 800)
	b.open(pg.base + "&app=web-forms")
	assert.LessOrEqual(t, eval[int](b, "document.documentElement.scrollWidth"), 390, "nothing wider than the screen")
	if p := os.Getenv("CREDITGATE_SCREENSHOT"); p != "" {
		b.viewport(390, eval[int](b, "document.documentElement.scrollHeight"))
		require.NoError(t, os.WriteFile(strings.TrimSuffix(p, ".png")+"-phone.png", b.screenshot(), 0o644))
	}
	b.viewport(1440, 1000)
}

func browseTenantToken(t *testing.T, b *browser, pg *dashPage) {
	b.open(pg.url + "/dashboard/?token=globex-tok")
	assert.True(t, eval[bool](b, "document.getElementById('tenant-picker').hidden"), "no picker")
	assert.True(t, eval[bool](b, "document.getElementById('tenants-card').hidden"), "no list of tenants")
	assert.Equal(t, "tenant globex", eval[string](b, "document.getElementById('tenant-name').textContent"))
	assert.Equal(t, []string{"sync"}, eval[[]string](b, "Array.from(document.querySelectorAll('#top-app .bar')).map(g => g.getAttribute('data-key'))"))
}

// A link opened in a tab that has no token: the page asks for one, loads
// nothing until then, and then shows the linked view.
func browseNoToken(t *testing.T, b *browser, pg *dashPage) {
	eval[any](b, "sessionStorage.clear()")
	b.navigate(pg.url + "/dashboard/?tenant=acme&app=crm-sync")
	b.waitFor("!document.getElementById('token-form').hidden")
	assert.Equal(t, "false", eval[string](b, "document.body.getAttribute('data-ready')"))
	assert.Equal(t, "token-input", eval[string](b, "document.activeElement.id"), "the token field has the focus")
	b.act("document.getElementById('token-input').value = 'op'; document.getElementById('token-form').requestSubmit()")
	assert.Equal(t, "app", eval[string](b, "document.body.getAttribute('data-view')"))
	assert.Equal(t, []string{"svc-sync"}, eval[[]string](b, "Array.from(document.querySelectorAll('#top-user .bar')).map(g => g.getAttribute('data-key'))"))
	assert.True(t, eval[bool](b, "document.getElementById('token-form').hidden"))
}

func btoi(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func paris(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	return loc
}

// commas formats n as the page does (en-US grouping).
func commas(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
