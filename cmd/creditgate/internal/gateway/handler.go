package gateway

// This file is where the gateway meets the middleware and cost packages: it
// builds the handler of one configuration (identity keys, the middleware's
// options, the instrumented proxy behind it). A change of their API lands
// here.

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"net/textproto"
	"time"

	"github.com/creditgate/creditgate/cmd/creditgate/internal/config"
	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/profile/zoho"
)

// bundle is what one configuration serves with; a reload swaps it whole.
type bundle struct {
	h     http.Handler // the middleware, around admitted
	eff   *config.Effective
	costs *cost.Table
	app   middleware.KeyFunc
	link  *link // the proxy's, shared with the bundle before if the upstream is the same
	proxy http.Handler
	m     *metrics
}

// buildHandler builds the handler for eff over the gateway's limiter,
// proxying over l.
func (g *Gateway) buildHandler(eff *config.Effective, l *link) (*bundle, error) {
	id := eff.Config.Identity
	b := &bundle{
		eff: eff, costs: eff.Costs, m: g.m,
		app:  headerKey(id.AppHeader, nil),
		link: l,
	}
	keys := middleware.Keys{App: b.app, User: headerKey(id.UserHeader, nil)}
	if id.TenantHeader != "" {
		keys.Tenant = headerKey(id.TenantHeader, eff.Trusted)
	}
	b.proxy = g.proxyTo(eff.Upstream, l, id.TenantHeader, keys.Tenant)
	opts := []middleware.Option{
		keys,
		middleware.WithCounters(&g.counters),
		middleware.WithMaxKeyBytes(g.limits.MaxKeyBytes), // the running limits: a reload keeps them
		middleware.WithSharedPricingBudget(g.budget),     // the running limits', shared by every reload's handler
		middleware.WithDecisionHook(func(_ *http.Request, d limiter.Decision, shadow bool) { g.m.refusal(d, shadow) }),
		// Refusals are routine for a gateway: logged at debug, not info.
		middleware.WithLogger(slog.New(demote{g.log.Handler()})),
	}
	if eff.Config.Costs.Profile == "zoho" {
		// Clients of a Zoho-shaped API expect its error bodies.
		opts = append(opts, middleware.WithErrorBodies(zoho.ErrorBodies{}))
	}
	if len(eff.Trusted) > 0 {
		cidrs := make([]string, len(eff.Trusted))
		for i, p := range eff.Trusted {
			cidrs[i] = p.String()
		}
		opts = append(opts, middleware.WithTrustedProxies(cidrs...))
	}
	if id.Forwarded {
		opts = append(opts, middleware.WithForwardedHeader())
	}
	h, err := middleware.New(http.HandlerFunc(b.admitted), g.l, eff.Costs, opts...)
	if err != nil {
		return nil, err
	}
	b.h = h
	return b, nil
}

// admitted runs for each admitted request: it records how long the decision
// took, counts the request in flight for its application and class, and
// proxies it.
func (b *bundle) admitted(w http.ResponseWriter, r *http.Request) {
	if tw := findTimed(w); tw != nil {
		tw.decided = true
		b.m.decision.Observe(time.Since(tw.start).Seconds())
	}
	class := ""
	if p, err := b.costs.Match(r); err == nil {
		class = p.Class
	}
	g := b.m.inFlight.gauge(b.app(r), class)
	g.Inc()
	defer g.Dec()
	b.proxy.ServeHTTP(w, r)
}

// headerKey reads the named header, or nothing for an empty name. With
// trusted networks, only from a peer in one of them: a header any client can
// set would let it choose its own credit pool. From a trusted peer it reads
// the header's last line: a proxy that adds its own line rather than
// replacing the client's passes the client's on before it.
func headerKey(name string, trusted []netip.Prefix) middleware.KeyFunc {
	if name == "" {
		return func(*http.Request) string { return "" }
	}
	key := textproto.CanonicalMIMEHeaderKey(name)
	if len(trusted) == 0 {
		return func(r *http.Request) string {
			if v := r.Header[key]; len(v) > 0 {
				return v[0]
			}
			return ""
		}
	}
	return func(r *http.Request) string {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil {
			return ""
		}
		peer := ap.Addr().Unmap()
		for _, p := range trusted {
			if p.Contains(peer) {
				if v := r.Header[key]; len(v) > 0 {
					return v[len(v)-1]
				}
				return ""
			}
		}
		return ""
	}
}

// demote lowers the middleware's Info records (one per refusal) to Debug.
type demote struct{ slog.Handler }

func (d demote) Enabled(ctx context.Context, l slog.Level) bool {
	if l == slog.LevelInfo {
		l = slog.LevelDebug
	}
	return d.Handler.Enabled(ctx, l)
}

func (d demote) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo {
		r.Level = slog.LevelDebug
	}
	return d.Handler.Handle(ctx, r)
}

func (d demote) WithAttrs(as []slog.Attr) slog.Handler { return demote{d.Handler.WithAttrs(as)} }
func (d demote) WithGroup(n string) slog.Handler       { return demote{d.Handler.WithGroup(n)} }
