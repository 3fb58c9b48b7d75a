// Command crmapi serves a fake CRM API (records, search, COQL, lead convert,
// bulk read) behind creditgate's middleware with Zoho CRM's Enterprise
// edition, mounts the usage dashboard at /dashboard/, drives a bounded built-in
// load from four simulated integrations with different habits, prints a live
// progress line and then a table of credits, calls and 429s per application.
//
//	go run ./examples/crmapi                  # 30 s of load, then exit
//	go run ./examples/crmapi -duration 10s
//	go run ./examples/crmapi -stay            # keep serving the dashboard afterwards
//
// The pool is the real Enterprise formula with a small licence count
// (-licences, default 1: 50,000 + 1,000 = 51,000 credits per rolling 24 h),
// so that the greedy exporter can drain it within the default run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/profile/zoho"
	"github.com/creditgate/creditgate/usage"
)

// options are the command's flags.
type options struct {
	duration time.Duration
	listen   string
	stay     bool
	licences int64
	tty      bool // rewrite the progress line in place
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "how long the built-in load runs")
	flag.StringVar(&o.listen, "listen", "127.0.0.1:0", "address to serve the API and dashboard on")
	flag.BoolVar(&o.stay, "stay", false, "keep serving the dashboard after the load, until interrupted")
	flag.Int64Var(&o.licences, "licences", 1, "Enterprise licences (pool = 50,000 + 1,000 per licence)")
	flag.Parse()
	if fi, err := os.Stdout.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		o.tty = true
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	if _, err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "crmapi:", err)
		os.Exit(1)
	}
}

// result is what a run measured, for the summary and the test.
type result struct {
	apps   []integration
	stats  []*appStats
	usage  map[string]usage.Count // server side, by application
	limit  int64
	used   int64
	alerts []limiter.Alert
}

// run serves, loads, reports and shuts down. ctx cancels everything (Ctrl-C).
func run(ctx context.Context, o options, out io.Writer) (*result, error) {
	if o.duration <= 0 {
		return nil, errors.New("crmapi: -duration must be positive")
	}
	plan, err := zoho.Edition("enterprise", o.licences)
	if err != nil {
		return nil, err
	}
	costs, err := zoho.CostTable()
	if err != nil {
		return nil, err
	}
	alerts := make(chan limiter.Alert, 16)
	stats := usage.New(30*24*time.Hour, 1000)
	defer stats.Close(context.Background())
	l, err := limiter.New(plan, limiter.WithUsage(stats), limiter.WithAlerts(nil, func(a limiter.Alert) {
		select {
		case alerts <- a:
		default: // the progress loop is behind; the dashboard still shows usage
		}
	}))
	if err != nil {
		return nil, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = l.Close(cctx)
	}()

	crm := &fakeCRM{}
	// The load generator plays the part of a trusted gateway on loopback that
	// reports each integration's address in X-Forwarded-For.
	api, err := middleware.New(crm.routes(), l, costs, middleware.WithTrustedProxies("127.0.0.0/8", "::1/128"),
		middleware.WithErrorBodies(zoho.ErrorBodies{}))
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/crm/", api)
	mux.Handle("/dashboard/", middleware.Dashboard(l))

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return nil, err
	}
	// Timeouts end stalled connections, each of which would otherwise hold
	// its application's slot, or its share of the pricing budget, for as
	// long as it lives (see the middleware package doc).
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "creditgate demo: fake CRM API at %s/crm/v8/, dashboard at %s/dashboard/\n", base, base)
	fmt.Fprintf(out, "plan: Zoho CRM %s, %d licence(s): %s credits per rolling 24 h, %d calls in flight per app, %d per heavy API class\n",
		plan.Name, o.licences, group(plan.Credits), plan.Concurrency, zoho.SubConcurrency)
	fmt.Fprintf(out, "load: %d integrations for %s\n", len(integrations()), o.duration)

	res := &result{apps: integrations(), limit: plan.Credits}
	for range res.apps {
		res.stats = append(res.stats, &appStats{})
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	stop, stopLoad := context.WithTimeout(ctx, o.duration)
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		runLoad(stop, ctx, client, base, res.apps, res.stats)
	}()
	progress(stop, out, o, l, res, alerts, loadDone)
	stopLoad()
	<-loadDone
	client.CloseIdleConnections()
	drainAlerts(out, o, res, alerts)

	now := time.Now()
	dec := l.Peek(now, "")
	res.used = dec.Limit - dec.Remaining
	res.usage = map[string]usage.Count{}
	for _, c := range stats.Top("", usage.App, now.Add(-time.Hour), now.Add(time.Hour), 100) {
		res.usage[c.Key] = c
	}
	summary(out, res)

	if o.stay && ctx.Err() == nil {
		fmt.Fprintf(out, "\nstill serving the dashboard at %s/dashboard/ (Ctrl-C to stop)\n", base)
		<-ctx.Done()
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return res, err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return res, err
	}
	return res, nil
}
