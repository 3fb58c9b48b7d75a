package middleware_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"time"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/usage"
)

var exampleNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// exampleLimiter returns a limiter with usage statistics and a cost table;
// close stops both goroutines.
func exampleLimiter() (l *limiter.Limiter, costs *cost.Table, close func()) {
	stats := usage.New(24*time.Hour, 100)
	l, err := limiter.New(limiter.Plan{Name: "demo", Credits: 10, Concurrency: 2,
		SubConcurrency: map[string]int64{"bulk": 1}}, limiter.WithUsage(stats))
	if err != nil {
		panic(err)
	}
	costs, err = cost.NewTable(1,
		cost.Route{Pattern: "GET /crm/v8/{module}", Cost: 1},
		cost.Route{Pattern: "POST /crm/bulk/v8/read", Cost: 8, Class: "bulk"})
	if err != nil {
		panic(err)
	}
	return l, costs, func() {
		_ = l.Close(context.Background())
		_ = stats.Close(context.Background())
	}
}

func ExampleNew() {
	l, costs, close := exampleLimiter()
	defer close()
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"data":[]}`) })
	h, err := middleware.New(api, l, costs, middleware.WithClock(func() time.Time { return exampleNow }))
	if err != nil {
		panic(err)
	}
	// Credits come back when their 15-minute slot of the 24-hour window expires.
	for _, target := range []string{"/crm/bulk/v8/read", "/crm/bulk/v8/read"} {
		r := httptest.NewRequest("POST", target, nil)
		r.Header.Set("X-Client-Id", "exporter")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, "remaining", w.Header().Get(middleware.HeaderRemaining),
			"credits header", w.Header().Get(middleware.HeaderCreditsRemaining))
		if w.Code == http.StatusTooManyRequests {
			// RFC 9457 problem details, unless WithErrorBodies says otherwise.
			var body struct {
				Title string
				By    string
				Cost  int64
			}
			_ = json.Unmarshal(w.Body.Bytes(), &body)
			fmt.Println(body.Title, "by", body.By, "cost", body.Cost, "retry after", w.Header().Get("Retry-After"), "s")
		}
	}
	// Output:
	// 200 remaining 2 credits header 2
	// 429 remaining 2 credits header 2
	// Too Many Requests by credits cost 8 retry after 87300 s
}

// A deployment serves the middleware with timeouts that end stalled
// connections, each of which would hold its application's slot while it
// lives (see the package doc).
func Example_server() {
	l, costs, close := exampleLimiter()
	defer close()
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"data":[]}`) })
	h, err := middleware.New(api, l, costs)
	if err != nil {
		panic(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	ts.Config = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,  // headers trickled in
		ReadTimeout:       30 * time.Second, // a body that stalls
		WriteTimeout:      60 * time.Second, // a client that does not read: above the slowest response
		IdleTimeout:       2 * time.Minute,  // keep-alive between requests
	}
	ts.Start()
	defer ts.Close()
	resp, err := ts.Client().Get(ts.URL + "/crm/v8/Leads")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, "remaining", resp.Header.Get(middleware.HeaderRemaining))
	// Output: 200 remaining 9
}

func ExampleReportCost() {
	l, costs, close := exampleLimiter()
	defer close()
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The bulk job found only a little to read: it costs 2, not 8.
		middleware.ReportCost(w, 2)
	})
	h, _ := middleware.New(api, l, costs, middleware.WithClock(func() time.Time { return exampleNow }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/crm/bulk/v8/read", nil))
	fmt.Println("remaining", l.Peek(exampleNow, "").Remaining)
	// Output: remaining 8
}

func ExampleWithShadowAll() {
	l, costs, close := exampleLimiter()
	defer close()
	var cs middleware.Counters
	h, _ := middleware.New(http.NotFoundHandler(), l, costs, middleware.WithShadowAll(), middleware.WithCounters(&cs),
		middleware.WithClock(func() time.Time { return exampleNow }))
	for range 3 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/crm/bulk/v8/read", nil))
	}
	fmt.Println("admitted", cs.Admitted.Load(), "would have refused", cs.ShadowRefused.Load(), "refused", cs.Refused.Load())
	// Output: admitted 1 would have refused 2 refused 0
}

func ExampleParseHeaders() {
	h := http.Header{}
	h.Set("X-RATELIMIT-LIMIT", "50000")
	h.Set("X-RATELIMIT-REMAINING", "12000")
	h.Set("X-RATELIMIT-RESET", "900")
	h.Set("X-API-CREDITS-REMAINING", "12000")
	lim, err := middleware.ParseHeaders(exampleNow, h)
	fmt.Println(lim.Limit, lim.Remaining, lim.Reset.Sub(exampleNow), lim.Has(middleware.FieldCreditsRemaining), err)
	// Output: 50000 12000 15m0s true <nil>
}

func ExampleClientIP_Key() {
	c := middleware.ClientIP{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.5:443" // our load balancer
	r.Header.Set("X-Forwarded-For", "198.51.100.7, 2001:db8:1:2::99")
	fmt.Println(c.Key(r))             // the rightmost untrusted hop, keyed by its /64
	r.RemoteAddr = "203.0.113.9:5555" // not a proxy: its header is ignored
	fmt.Println(c.Key(r))
	// Output:
	// 2001:db8:1:2::/64
	// 203.0.113.9
}

func ExampleDashboard() {
	l, costs, close := exampleLimiter()
	defer close()
	h, _ := middleware.New(http.NotFoundHandler(), l, costs, middleware.WithClock(func() time.Time { return exampleNow }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/crm/v8/Leads", nil))

	mux := http.NewServeMux()
	mux.Handle("/dashboard/", middleware.Dashboard(l, middleware.WithToken("s3cret"),
		middleware.WithDashboardClock(func() time.Time { return exampleNow })))
	r := httptest.NewRequest("GET", "/dashboard/api/top?dim=module", nil)
	r.Header.Set("Authorization", "Bearer s3cret")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	fmt.Print(strings.TrimSpace(w.Body.String()))
	// Output: {"dim":"module","items":[{"key":"Leads","credits":1,"calls":1,"refused":0}]}
}

func ExampleContextWithIdentity() {
	l, costs, close := exampleLimiter()
	defer close()
	api, _ := middleware.New(http.NotFoundHandler(), l, costs, middleware.WithClock(func() time.Time { return exampleNow }))
	// An authentication layer in front says which organisation pays: each
	// tenant has its own pool of 10 credits.
	auth := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org := r.URL.Query().Get("org") // stands in for a verified token's claim
		api.ServeHTTP(w, r.WithContext(middleware.ContextWithIdentity(r.Context(),
			middleware.Identity{Tenant: org, App: "crm-sync", User: "ann"})))
	})
	for _, target := range []string{"/crm/bulk/v8/read?org=acme", "/crm/bulk/v8/read?org=globex", "/crm/bulk/v8/read?org=acme"} {
		w := httptest.NewRecorder()
		auth.ServeHTTP(w, httptest.NewRequest("POST", target, nil))
		fmt.Println(target[len("/crm/bulk/v8/read?"):], w.Code, w.Header().Get(middleware.HeaderRemaining))
	}
	// Output:
	// org=acme 404 2
	// org=globex 404 2
	// org=acme 429 2
}

func ExampleWithMaxKeyBytes() {
	l, costs, close := exampleLimiter()
	defer close()
	h, _ := middleware.New(http.NotFoundHandler(), l, costs, middleware.WithMaxKeyBytes(64),
		middleware.WithClock(func() time.Time { return exampleNow }))
	// An application key picks a concurrency cap: one longer than the limit
	// is refused, not shortened.
	for _, app := range []string{"crm-sync", strings.Repeat("x", 65)} {
		r := httptest.NewRequest("GET", "/crm/v8/Leads", nil)
		r.Header.Set(middleware.HeaderClientID, app)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(len(app), w.Code)
	}
	// Output:
	// 8 404
	// 65 400
}

func ExampleWithPricingBudget() {
	l, _, close := exampleLimiter()
	defer close()
	// One credit per 10 records, reading at most 1 MiB of body to count them.
	costs, _ := cost.NewTable(1, cost.Route{Pattern: "POST /crm/v8/{module}", Pricer: cost.RecordsCost("data", 10, 10, 1<<20)})
	h, _ := middleware.New(http.NotFoundHandler(), l, costs, middleware.WithPricingBudget(4<<10),
		middleware.WithClock(func() time.Time { return exampleNow }))
	// The bodies being priced share 4 KiB: a larger one can never be held
	// (413; a body that fits waits for room with 503 and Retry-After).
	for _, n := range []int{10, 2000} {
		body := `{"data":[{}` + strings.Repeat(`,{}`, n-1) + `]}`
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "/crm/v8/Leads", strings.NewReader(body)))
		fmt.Printf("%d bytes: %d Retry-After %q\n", len(body), w.Code, w.Header().Get("Retry-After"))
	}
	// Output:
	// 40 bytes: 404 Retry-After ""
	// 6010 bytes: 413 Retry-After ""
}

func ExampleWithSharedPricingBudget() {
	l, _, close := exampleLimiter()
	defer close()
	costs, _ := cost.NewTable(1, cost.Route{Pattern: "POST /crm/v8/{module}", Pricer: cost.RecordsCost("data", 10, 10, 1<<20)})
	// One budget for the handler a server runs and the one it builds on a
	// reload: bodies the old one still prices count against the new one.
	budget, _ := middleware.NewPricingBudget(64 << 10)
	before, _ := middleware.New(http.NotFoundHandler(), l, costs, middleware.WithSharedPricingBudget(budget))
	after, _ := middleware.New(http.NotFoundHandler(), l, costs, middleware.WithSharedPricingBudget(budget))
	for _, h := range []http.Handler{before, after} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "/crm/v8/Leads", strings.NewReader(`{"data":[{}]}`)))
		fmt.Println(w.Code, budget.Free() == budget.Bytes())
	}
	// Output:
	// 404 true
	// 404 true
}
