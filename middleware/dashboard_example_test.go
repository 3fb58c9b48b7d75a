package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/usage"
)

// get serves target from h with a bearer token and prints the body.
func get(h http.Handler, target, token string) {
	r := httptest.NewRequest("GET", target, nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
}

// An operator's token reads every tenant; a tenant's token only its own.
func ExampleWithTenantToken() {
	stats := usage.New(0, 100)
	defer func() { _ = stats.Close(context.Background()) }()
	l, err := limiter.New(limiter.Plan{Credits: 100, Concurrency: 5}, limiter.WithUsage(stats))
	if err != nil {
		panic(err)
	}
	defer func() { _ = l.Close(context.Background()) }()
	for _, tenant := range []string{"acme", "globex"} {
		tk, _ := l.Acquire(exampleNow, limiter.Request{Tenant: tenant, App: tenant + "-sync", Credits: 3})
		tk.Release()
	}
	d := middleware.Dashboard(l, middleware.WithToken("operator-secret"),
		middleware.WithTenantToken("acme", "acme-secret"),
		middleware.WithDashboardClock(func() time.Time { return exampleNow }))
	get(d, "/api/top?dim=app&tenant=globex", "operator-secret")
	get(d, "/api/top?dim=app", "acme-secret") // its own tenant
	get(d, "/api/top?dim=app&tenant=globex", "acme-secret")
	// Output:
	// 200 {"dim":"app","items":[{"key":"globex-sync","credits":3,"calls":1,"refused":0}]}
	// 200 {"dim":"app","items":[{"key":"acme-sync","credits":3,"calls":1,"refused":0}]}
	// 403 {"type":"about:blank","title":"Forbidden","status":403,"detail":"this token reads its own tenant only"}
}

// The alert log is the limiter's alert callback; the dashboard shows its
// thresholds and crossings.
func ExampleAlertLog() {
	alerts := middleware.NewAlertLog(nil, 0) // 80, 90 and 100 %
	l, err := limiter.New(limiter.Plan{Credits: 10, Concurrency: 5}, limiter.WithAlerts(alerts.Thresholds(), alerts.Add))
	if err != nil {
		panic(err)
	}
	for range 9 {
		tk, _ := l.Acquire(exampleNow, limiter.Request{Credits: 1})
		tk.Release()
	}
	_ = l.Close(context.Background()) // delivers the alerts still queued
	for _, a := range alerts.Alerts("") {
		fmt.Printf("%d %% crossed at %d of %d credits\n", a.Threshold, a.Used, a.Limit)
	}
	// Output:
	// 90 % crossed at 9 of 10 credits
	// 80 % crossed at 8 of 10 credits
}

// clientView is what a process calling a credit-metered API knows: the
// statistics its own integrations record, and the pool as the server's
// limit headers report it.
type clientView struct {
	stats *usage.Stats
	pool  middleware.Pool
}

func (c *clientView) Usage() *usage.Stats                    { return c.stats }
func (c *clientView) Pool(time.Time, string) middleware.Pool { return c.pool }

// DashboardOf serves the page for any source: here a client's view, where
// credits the server reports spent that none of this process's
// integrations spent are recorded as usage.Outside, a row of their own.
func ExampleDashboardOf() {
	stats := usage.New(0, 100)
	defer func() { _ = stats.Close(context.Background()) }()
	stats.Record(usage.Event{At: exampleNow, App: "nightly-export", Credits: 40})
	stats.RecordOutside(exampleNow, "", 25) // the headers said 65 were spent
	view := &clientView{stats: stats, pool: middleware.Pool{Limit: 100, Remaining: 35, Used: 65, Window: 24 * time.Hour}}
	d := middleware.DashboardOf(view, middleware.WithDashboardClock(func() time.Time { return exampleNow }))
	get(d, "/api/top?dim=app", "")
	// Output:
	// 200 {"dim":"app","items":[{"key":"nightly-export","credits":40,"calls":1,"refused":0},{"key":"(outside)","kind":"outside","credits":25,"calls":0,"refused":0}]}
}
