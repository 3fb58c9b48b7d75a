// Command server puts Zoho CRM's credit limits in front of an API: every
// call priced by Zoho's cost table (v2 to v9), taken from one Enterprise pool, capped
// in flight per application and for the complex APIs together, with the usage dashboard.
//
//	go run ./examples/server   # then: curl -i localhost:8080/crm/v8/Leads
package main

import (
	"context"
	"log"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/profile/zoho"
	"github.com/creditgate/creditgate/store/memory"
	"github.com/creditgate/creditgate/usage"
)

func main() {
	plan, err := zoho.Edition("enterprise", 25) // 75,000 credits a rolling 24 h, 20 in flight per app
	if err != nil {
		log.Fatal(err)
	}
	costs, err := zoho.CostTable() // v2-v9 routes: upsert = 1 credit per 10 records, COQL by LIMIT, ...
	if err != nil {
		log.Fatal(err)
	}
	stats := usage.New(30*24*time.Hour, 100)
	defer stats.Close(context.Background())
	l, err := limiter.New(plan,
		limiter.WithStore(memory.New(memory.WithMaxTenants(50_000))),
		limiter.WithUsage(stats),
		limiter.WithAlerts(nil, func(a limiter.Alert) { log.Printf("%s used %d%% of its credits", a.Tenant, a.Threshold) }))
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close(context.Background())

	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":[]}`)) // your API here
	})
	h, err := middleware.New(api, l, costs, middleware.WithErrorBodies(zoho.ErrorBodies{}))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/crm/", h)
	mux.Handle("/dashboard/", middleware.Dashboard(l, middleware.WithToken(os.Getenv("DASHBOARD_TOKEN"))))

	// Timeouts end stalled connections, each of which would hold its
	// application's slot while it lives (see package middleware).
	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: time.Minute, WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("serving on http://%s/crm/ (dashboard: /dashboard/)", srv.Addr)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
