// Package gateway is the creditgate reverse proxy: a limiter over an
// in-memory store (or Redis, shared by a fleet), the middleware in front of an httputil.ReverseProxy, the
// dashboard and Prometheus metrics, alerts out to a webhook, snapshots, and a
// configuration that reloads without losing accounting.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/creditgate/creditgate/cmd/creditgate/internal/config"
	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/usage"
)

// Gateway is the proxy handler and its state. The limiter, its store and the
// statistics live as long as the Gateway; a reload swaps the plans (ReplanAt),
// the cost table and the handler built from them, so nothing spent is lost,
// and the transport if the upstream changes (see link).
// Safe for concurrent use; Close when done.
type Gateway struct {
	log      *slog.Logger
	level    *slog.LevelVar
	l        *limiter.Limiter
	st       backing // the limiter's store
	stats    *usage.Stats
	m        *metrics
	alerts   *alerts
	counters middleware.Counters

	// limits are the running ones: a reload keeps them (README: limits
	// need a restart), the handlers it builds included.
	limits config.Limits
	// listen is the address listened on: a reload keeps it (a new listen
	// needs a restart), and checks its upstream against it.
	listen string
	// budget is limits.pricing_budget, one for every handler a reload
	// builds: the bodies an old handler still prices count against the
	// new one's (each had a full budget of its own).
	budget *middleware.PricingBudget
	// write is timeouts.write, the server's WriteTimeout (a restart
	// changes it): a proxied call past it can send its client nothing more.
	write time.Duration

	eff     atomic.Pointer[config.Effective] // the plans WithPlanFor reads
	current atomic.Pointer[bundle]

	mu    sync.Mutex     // serialises Reload; guards links and closing stop
	links map[*link]bool // the current one, and those retired but not drained

	stop   chan struct{}  // closed by Close (Reload is refused, nothing retired): the drains of retired links end
	drains sync.WaitGroup // retire's goroutines
}

// New builds a gateway for eff. level, if not nil, is set from the
// configuration now and on each reload.
func New(eff *config.Effective, log *slog.Logger, level *slog.LevelVar) (*Gateway, error) {
	c := eff.Config
	g := &Gateway{log: log, level: level, limits: c.Limits, listen: c.Listen, write: c.Timeouts.Write, links: map[*link]bool{}, stop: make(chan struct{})}
	g.setLevel(eff)
	g.eff.Store(eff)
	budget, err := middleware.NewPricingBudget(c.Limits.PricingBudget)
	if err != nil {
		return nil, err
	}
	g.budget = budget
	st, withStore, err := newBacking(c, log)
	if err != nil {
		return nil, err
	}
	g.st = st
	g.stats = usage.New(c.Limits.UsageRetention, c.Limits.UsageMaxKeys)
	// The alert function is bound before the limiter exists; it reaches the
	// deliverer through g, which is set below before any request.
	opts := []limiter.Option{
		withStore, limiter.WithUsage(g.stats),
		limiter.WithPlanFor(func(tenant string) limiter.Plan { return g.eff.Load().PlanFor(tenant) }),
	}
	if len(c.Alerts.Thresholds) > 0 {
		opts = append(opts, limiter.WithAlerts(c.Alerts.Thresholds, func(a limiter.Alert) { g.alerts.notify(a) }))
	}
	l, err := limiter.New(eff.Default, opts...)
	if err != nil {
		_ = g.stats.Close(context.Background())
		_ = st.close(context.Background())
		return nil, err
	}
	g.l = l
	g.m = newMetrics(&g.counters, l, st, c.Metrics.TopTenants, c.Metrics.TopApps)
	g.alerts = newAlerts(c.Alerts.Webhook, log, g.m)
	g.alerts.start()
	first := &link{upstream: eff.Upstream, tr: NewTransport(c.Timeouts)}
	g.links[first] = true
	b, err := g.buildHandler(eff, first)
	if err != nil {
		_ = g.Close(context.Background())
		return nil, err
	}
	g.current.Store(b)
	return g, nil
}

func (g *Gateway) setLevel(eff *config.Effective) {
	if g.level != nil {
		g.level.Set(eff.LogLevel)
	}
}

// Limiter returns the gateway's limiter.
func (g *Gateway) Limiter() *limiter.Limiter { return g.l }

// Reload switches to eff: tenants whose plan changes get it through ReplanAt
// (what they spent and hold carries over), the cost table, identity and
// upstream change for the next request, in-flight requests finish on the old
// handler. Settings that need a restart are named in the log. On error
// nothing changes; once Close has begun, Reload returns an error.
func (g *Gateway) Reload(eff *config.Effective) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing() {
		// Close has stopped the drains and closes the links it saw: a
		// link made or retired now would never be closed.
		return errClosed
	}
	old := g.eff.Load()
	// serve requires an upstream at start, and the listener keeps its
	// address until a restart: a reload must not lose the first nor point
	// the gateway at itself.
	err := eff.RequireUpstream()
	if err == nil && config.IsListen(g.listen, eff.Upstream) {
		err = fmt.Errorf("upstream: %s is the gateway itself (it listens on %s until a restart)", eff.Upstream, g.listen)
	}
	if err == nil {
		err = eff.UnderRunningLimits(g.limits) // a tenant no request can name under the limits kept
	}
	if err != nil {
		g.m.reloads.WithLabelValues("error").Inc()
		return err
	}
	g.eff.Store(eff) // first: a tenant created from now on gets the new plan
	b, err := g.buildHandler(eff, g.linkFor(eff.Upstream))
	if err != nil {
		g.eff.Store(old)
		g.m.reloads.WithLabelValues("error").Inc()
		return err
	}
	// The tenants the store holds get their new plan through the
	// limiter's ReplanAt, which asks WithPlanFor (eff, stored above) and
	// keeps no override; those the store makes from now on, and those it
	// dropped, ask it themselves. Nothing per tenant is kept beyond the store.
	now := time.Now()
	var errs []error
	for _, t := range slices.Collect(g.st.Tenants()) { // listed first: no plan is set while the store lists
		p := eff.PlanFor(t)
		if samePlan(old.PlanFor(t), p) {
			continue
		}
		if err := g.l.ReplanAt(now, t); err != nil { // eff, stored above, is what WithPlanFor now answers
			errs = append(errs, err) // validated by Build: not expected
		}
	}
	g.links[b.link] = true // there already if the upstream is the same
	if prev := g.current.Swap(b); prev.link != b.link {
		g.retire(prev.link)
	}
	g.alerts.setURL(eff.Config.Alerts.Webhook.URL)
	g.setLevel(eff)
	g.m.reloads.WithLabelValues("ok").Inc()
	for _, f := range restartOnly(old.Config, eff.Config) {
		g.log.Warn("configuration reloaded, but this field needs a restart to change", slog.String("field", f))
	}
	return errors.Join(errs...)
}

var errClosed = errors.New("the gateway is closed")

// closing reports whether Close has begun (stop is closed).
func (g *Gateway) closing() bool {
	select {
	case <-g.stop:
		return true
	default:
		return false
	}
}

// samePlan reports whether two plans are the same limits.
func samePlan(a, b store.Plan) bool {
	return a.Name == b.Name && a.Credits == b.Credits && a.AddOns == b.AddOns && a.WindowLength() == b.WindowLength() &&
		a.Concurrency == b.Concurrency && maps.Equal(a.SubConcurrency, b.SubConcurrency) &&
		reflect.DeepEqual(a.Extra, b.Extra) && sameCalendar(a.Calendar, b.Calendar)
}

func sameCalendar(a, b *store.Calendar) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Reset == b.Reset && a.Location.String() == b.Location.String()
}

// restartOnly names the fields that differ between a and b and that a reload
// does not apply.
func restartOnly(a, b *config.Config) []string {
	var out []string
	for _, f := range []struct {
		name string
		x, y any
	}{
		{"listen", a.Listen, b.Listen}, {"dashboard", a.Dashboard, b.Dashboard},
		{"metrics", a.Metrics, b.Metrics}, {"limits", a.Limits, b.Limits},
		{"snapshot", a.Snapshot, b.Snapshot}, {"timeouts", a.Timeouts, b.Timeouts},
		{"alerts.thresholds", a.Alerts.Thresholds, b.Alerts.Thresholds},
		{"log.format", a.Log.Format, b.Log.Format}, {"redis", a.Redis, b.Redis},
		{"alerts.webhook (other than url)", webhookNoURL(a.Alerts.Webhook), webhookNoURL(b.Alerts.Webhook)},
	} {
		if !reflect.DeepEqual(f.x, f.y) {
			out = append(out, f.name)
		}
	}
	return out
}

func webhookNoURL(w config.Webhook) config.Webhook {
	w.URL = ""
	return w
}

// Admin returns the handler of the dashboard's listener: the dashboard under
// /dashboard/, the metrics at metricsPath, /healthz. With a token, the
// metrics need it too (Authorization: Bearer <token>).
func (g *Gateway) Admin() http.Handler {
	c := g.eff.Load().Config
	mux := http.NewServeMux()
	var dopts []middleware.DashboardOption
	if c.Dashboard.Token != "" {
		dopts = append(dopts, middleware.WithToken(c.Dashboard.Token))
	}
	mux.Handle("/dashboard/", middleware.Dashboard(g.l, dopts...))
	if c.Metrics.Enabled {
		var h http.Handler = promhttp.HandlerFor(g.m.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(g.log.Handler(), slog.LevelWarn)})
		if c.Dashboard.Token != "" {
			h = requireToken(c.Dashboard.Token, h)
		}
		mux.Handle("GET "+c.Metrics.Path, h)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.Handle("GET /{$}", http.RedirectHandler("/dashboard/", http.StatusFound))
	return mux
}

// Close stops the limiter and closes its store (a Redis store gives back
// what it leased), then delivers what alerts are queued and stops the
// statistics, each within ctx.
func (g *Gateway) Close(ctx context.Context) error {
	var errs []error
	if g.l != nil {
		errs = append(errs, g.l.Close(ctx))
	}
	if g.st != nil {
		errs = append(errs, g.st.close(ctx))
	}
	if g.alerts != nil {
		errs = append(errs, g.alerts.close(ctx))
	}
	errs = append(errs, g.stats.Close(ctx))
	// Under mu: a Reload after this is refused, so no drain is added
	// while Wait runs (and two Closes do not both close stop).
	g.mu.Lock()
	if !g.closing() {
		close(g.stop)
	}
	g.mu.Unlock()
	g.drains.Wait()
	g.mu.Lock()
	for l := range g.links {
		l.tr.CloseIdleConnections()
	}
	g.mu.Unlock()
	return errors.Join(errs...)
}
