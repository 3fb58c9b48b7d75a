// Command crmapi is creditgate's server side as a library, in one file: Zoho
// CRM's Enterprise plan and cost table enforced by the middleware in front
// of an API handler, with the usage dashboard beside it.
//
//	go run ./examples/crmapi &
//	curl -i http://127.0.0.1:8080/crm/v8/Leads                # 200, X-RATELIMIT-REMAINING: 50999
//	curl -i -X POST http://127.0.0.1:8080/crm/bulk/v8/read    # 50 credits
//	open http://127.0.0.1:8080/dashboard/
//
// The whole story (a fake CRM, the gateway binary in front of it, four
// integrations with and without the client-side governor) is
// `go run ./cmd/creditgate demo`.
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/profile/zoho"
	"github.com/creditgate/creditgate/usage"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve the API and the dashboard on")
	flag.Parse()
	h, closeAll, err := newServer(http.HandlerFunc(api))
	if err != nil {
		log.Fatal(err)
	}
	defer closeAll()
	// Timeouts end stalled connections, each of which would otherwise hold
	// its application's slot for as long as it lives.
	srv := &http.Server{Addr: *listen, Handler: h, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	log.Printf("API at http://%s/crm/v8/, dashboard at http://%s/dashboard/", *listen, *listen)
	log.Fatal(srv.ListenAndServe())
}

// newServer puts next behind Zoho CRM's limits (Enterprise, 1 licence: 51,000
// credits a rolling day, 20 calls in flight per application, 10 of the
// complex APIs together) and mounts the dashboard; closeAll stops the limiter and statistics.
func newServer(next http.Handler) (h http.Handler, closeAll func(), err error) {
	plan, err := zoho.Edition("enterprise", 1)
	if err != nil {
		return nil, nil, err
	}
	costs, err := zoho.CostTable()
	if err != nil {
		return nil, nil, err
	}
	stats := usage.New(30*24*time.Hour, 100)
	l, err := limiter.New(plan, limiter.WithUsage(stats))
	if err != nil {
		return nil, nil, err
	}
	closeAll = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = l.Close(ctx)
		_ = stats.Close(ctx)
	}
	limited, err := middleware.New(next, l, costs, middleware.WithErrorBodies(zoho.ErrorBodies{}))
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/crm/", limited)
	mux.Handle("/dashboard/", middleware.Dashboard(l)) // add middleware.WithToken off loopback
	return mux, closeAll, nil
}

// api stands in for the CRM's own handlers.
func api(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"data":[{"id":"5000000000001","Last_Name":"Smith"}]}` + "\n"))
}
