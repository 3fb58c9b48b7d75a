package config

import (
	"cmp"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/textproto"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/store"
)

// Effective is a validated configuration and what it derives: the plans, the
// cost table, the parsed addresses.
type Effective struct {
	Config   *Config
	Default  store.Plan            // every tenant's plan unless Tenants says otherwise
	Tenants  map[string]store.Plan // per-tenant plans
	Costs    *cost.Table
	Routes   []RouteInfo // the table's routes, described for people
	Upstream *url.URL    // nil when none is configured (see RequireUpstream)
	Trusted  []netip.Prefix
	LogLevel slog.Level
	Warnings []string
}

// PlanFor returns tenant's plan.
func (e *Effective) PlanFor(tenant string) store.Plan {
	if p, ok := e.Tenants[tenant]; ok {
		return p
	}
	return e.Default
}

// RequireUpstream returns an error unless an upstream is configured: serving
// needs one, checking a file does not.
func (e *Effective) RequireUpstream() error {
	if e.Upstream != nil {
		return nil
	}
	return &Error{Pos: e.Config.At("upstream"), Field: "upstream",
		Msg: "required: set it in the file, with -upstream or with CREDITGATE_UPSTREAM"}
}

// builder collects errors against the configuration's positions.
type builder struct {
	c     *Config
	errs  Errors
	warns []string
}

func (b *builder) fail(path, format string, args ...any) {
	b.errs = append(b.errs, &Error{Pos: b.c.At(path), Field: path, Msg: fmt.Sprintf(format, args...)})
}

// Build validates c and derives its plans and cost table. Every problem is
// reported, each as an *Error naming where the field was set (file and line,
// flag or environment variable) and the field.
func Build(c *Config) (*Effective, error) {
	b := &builder{c: c}
	e := &Effective{Config: c}
	b.addresses(e)
	b.identity(e)
	b.limits()
	b.alerts()
	b.misc(e)
	table, infos, routeClass := b.costTable()
	e.Costs, e.Routes = table, infos
	e.Default, e.Tenants = b.plans(table, routeClass)
	e.Warnings = append(e.Warnings, b.warns...)
	if c.Identity.TenantHeader != "" && len(c.Identity.TrustedProxies) == 0 {
		e.Warnings = append(e.Warnings, fmt.Sprintf("identity.tenant_header %q is believed from every client: a client can pick its own credit pool; list the proxies that set it in identity.trusted_proxies", c.Identity.TenantHeader))
	}
	switch textproto.CanonicalMIMEHeaderKey(c.Identity.TenantHeader) {
	case "X-Forwarded-For", "Forwarded":
		e.Warnings = append(e.Warnings, fmt.Sprintf("identity.tenant_header %q: proxies append to it after what the client sent, so a client that sends one gets a new credit pool for each value it makes up; key tenants by a header your proxy sets (replacing the client's)", c.Identity.TenantHeader))
	}
	for _, p := range e.Trusted {
		if c.Identity.TenantHeader != "" && p.Bits() == 0 {
			e.Warnings = append(e.Warnings, fmt.Sprintf("identity.tenant_header %q is believed from every client: identity.trusted_proxies lists %s, every address: a client can pick its own credit pool; list only the proxies that set it", c.Identity.TenantHeader, p))
			break
		}
	}
	if e.Upstream == nil && len(b.errs) == 0 {
		e.Warnings = append(e.Warnings, "no upstream: serve needs one (-upstream or CREDITGATE_UPSTREAM)")
	}
	// Report in the order a reader meets the fields: flags and variables
	// (line 0) first, then the file top to bottom.
	slices.SortStableFunc(b.errs, func(x, y *Error) int {
		return cmp.Or(cmp.Compare(x.Pos.Line, y.Pos.Line), cmp.Compare(x.Pos.Column, y.Pos.Column))
	})
	if err := b.errs.err(); err != nil {
		return nil, err
	}
	return e, nil
}

func (b *builder) addresses(e *Effective) {
	c := b.c
	b.hostPort("listen", c.Listen)
	if c.Upstream != "" {
		u, err := url.Parse(c.Upstream)
		switch {
		case err != nil:
			b.fail("upstream", "not a URL: %v", err)
		case u.Scheme != "http" && u.Scheme != "https":
			b.fail("upstream", "want an http:// or https:// URL, got %q", c.Upstream)
		case u.Hostname() == "":
			b.fail("upstream", "no host in %q", c.Upstream)
		case u.User != nil:
			b.fail("upstream", "credentials in the URL are not supported")
		case !upstreamPort(u.Port()):
			b.fail("upstream", "bad port %q in %q (want 1 to 65535)", u.Port(), c.Upstream)
		case IsListen(c.Listen, u):
			b.fail("upstream", "the gateway itself (listen is %s): each call would come back through it", c.Listen)
		default:
			e.Upstream = u
		}
	}
	db := c.Dashboard
	if !db.Enabled {
		return
	}
	if b.hostPort("dashboard.address", db.Address) {
		if _, port, _ := net.SplitHostPort(db.Address); db.Address == c.Listen && port != "0" {
			b.fail("dashboard.address", "the same as listen: the dashboard needs its own listener")
		}
		if !loopback(db.Address) && db.Token == "" {
			b.fail("dashboard.address", "%q is not a loopback address: set dashboard.token (or CREDITGATE_DASHBOARD_TOKEN) so that only its holders read usage and metrics", db.Address)
		}
	}
	if m := c.Metrics; m.Enabled {
		if !metricsPath(m.Path) {
			b.fail("metrics.path", "want a clean literal path such as /metrics, outside /dashboard/ and not /healthz (no {}, %%, blanks, empty, . or .. segments), got %q", m.Path)
		}
		b.between("metrics.top_tenants", int64(m.TopTenants), 1, 1000)
		b.between("metrics.top_apps", int64(m.TopApps), 1, 1000)
	}
}

// metricsPath reports whether p mounts beside the admin listener's own
// routes (/dashboard/, GET /healthz, GET /{$}) as the ServeMux pattern
// "GET "+p: a literal, clean path (ServeMux panics on a wildcard that does
// not parse, on a path that is not clean, and on a pattern that conflicts
// with another), outside the others.
func metricsPath(p string) bool {
	if !strings.HasPrefix(p, "/") || p == "/" || p == "/healthz" || strings.HasPrefix(p, "/dashboard/") {
		return false
	}
	for _, r := range p {
		if r == '{' || r == '}' || r == '%' || r <= ' ' || r == 0x7f {
			// '%': ServeMux unescapes a pattern's path, so /%68ealthz
			// would be /healthz, past the checks above.
			return false
		}
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") {
		clean += "/"
	}
	return clean == p
}

func (b *builder) hostPort(path, addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		b.fail(path, "want host:port such as 127.0.0.1:8080, got %q", addr)
		return false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		b.fail(path, "bad port %q", port)
		return false
	}
	if strings.ContainsAny(host, " /") {
		b.fail(path, "bad host %q", host)
		return false
	}
	return true
}

// IsListen reports whether u names the address the gateway listens on: the
// same port, and the same host, or both hosts this machine's loopback, or a
// listener on every address and a loopback upstream. A reload checks the new
// upstream against the running listen address, since a new listen needs a
// restart.
func IsListen(listen string, u *url.URL) bool {
	lh, lp, err := net.SplitHostPort(listen)
	if err != nil || samePort(lp, "0") {
		return false
	}
	up := u.Port()
	if up == "" {
		up = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if !samePort(up, lp) {
		return false
	}
	uh := u.Hostname()
	lip, lok := hostAddr(lh)
	uip, uok := hostAddr(uh)
	if uok && uip.IsUnspecified() {
		// Dialled, the unspecified address is this machine (Linux connects
		// it to loopback).
		return true
	}
	local := func(h string, ip netip.Addr, ok bool) bool {
		return strings.EqualFold(h, "localhost") || (ok && ip.IsLoopback())
	}
	everywhere := lh == "" || (lok && lip.IsUnspecified())
	same := strings.EqualFold(lh, uh) || (lok && uok && lip == uip)
	return same || (local(uh, uip, uok) && (local(lh, lip, lok) || everywhere))
}

// hostAddr parses host as an IP address, unmapped: Go listens on and dials
// [::ffff:a.b.c.d] as a.b.c.d, so the two spellings are one address.
func hostAddr(host string) (netip.Addr, bool) {
	ip, err := netip.ParseAddr(host)
	return ip.Unmap(), err == nil
}

// upstreamPort reports whether an upstream URL's port ("" : the scheme's)
// can be dialled: url.Parse checks only that it is digits.
func upstreamPort(p string) bool {
	if p == "" {
		return true
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

// samePort reports whether two ports are one: as numbers, since Go dials
// "08080" as 8080.
func samePort(a, b string) bool {
	x, errA := strconv.Atoi(a)
	y, errB := strconv.Atoi(b)
	if errA != nil || errB != nil {
		return a == b
	}
	return x == y
}

// loopback reports whether addr's host can only be reached from this machine.
func loopback(addr string) bool {
	host, _, _ := net.SplitHostPort(addr)
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func (b *builder) between(path string, v, lo, hi int64) {
	if v < lo || v > hi {
		b.fail(path, "want %d to %d, got %d", lo, hi, v)
	}
}

func (b *builder) identity(e *Effective) {
	id := b.c.Identity
	for _, h := range []struct{ path, v string }{
		{"identity.tenant_header", id.TenantHeader},
		{"identity.app_header", id.AppHeader},
		{"identity.user_header", id.UserHeader},
	} {
		if strings.ContainsAny(h.v, " :\t\r\n") {
			b.fail(h.path, "not a header name: %q", h.v)
		}
		if strings.EqualFold(h.v, "Host") {
			b.fail(h.path, "Host is not among a request's headers (net/http moves it to the request's host): every call would have no key")
		}
		if strings.EqualFold(h.v, "Transfer-Encoding") {
			b.fail(h.path, "Transfer-Encoding is not among a request's headers (net/http moves it to the request's TransferEncoding): every call would have no key")
		}
	}
	for i, s := range id.TrustedProxies {
		path := fmt.Sprintf("identity.trusted_proxies[%d]", i)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				b.fail(path, "want a CIDR such as 10.0.0.0/8 or an address, got %q", s)
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			// An IPv4 network as an IPv6 socket shows it: peers are
			// compared unmapped, so is the network.
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		e.Trusted = append(e.Trusted, p.Masked())
	}
}

func (b *builder) limits() {
	l := b.c.Limits
	b.between("limits.max_tenants", int64(l.MaxTenants), 0, 1<<30)
	b.between("limits.max_bytes", l.MaxBytes, 1<<20, 1<<40)
	b.between("limits.max_apps", int64(l.MaxApps), 1, 1<<20)
	b.between("limits.usage_max_keys", int64(l.UsageMaxKeys), 1, 10_000)
	b.between("limits.max_header_bytes", int64(l.MaxHeaderBytes), 1<<10, 1<<20)
	b.between("limits.max_key_bytes", int64(l.MaxKeyBytes), 64, 1<<16)
	b.between("limits.pricing_budget", l.PricingBudget, 1<<20, 1<<40)
	if l.UsageRetention < 3600e9 {
		b.fail("limits.usage_retention", "want at least 1h, got %v", l.UsageRetention)
	}
}

func (b *builder) alerts() {
	a := b.c.Alerts
	if len(a.Thresholds) > 32 {
		b.fail("alerts.thresholds", "at most 32")
	}
	for i, t := range a.Thresholds {
		path := fmt.Sprintf("alerts.thresholds[%d]", i)
		b.between(path, int64(t), 1, 100)
		if i > 0 && t <= a.Thresholds[i-1] {
			b.fail(path, "thresholds must be in ascending order, without repeats")
		}
	}
	w := a.Webhook
	if w.URL != "" {
		u, err := url.Parse(w.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			b.fail("alerts.webhook.url", "want an http:// or https:// URL, got %q", redactUserinfo(w.URL))
		}
	}
	b.positive("alerts.webhook.timeout", int64(w.Timeout))
	b.positive("alerts.webhook.initial_backoff", int64(w.InitialBackoff))
	b.between("alerts.webhook.max_attempts", int64(w.MaxAttempts), 1, 100)
	b.between("alerts.webhook.queue", int64(w.Queue), 1, 100_000)
	if w.MaxBackoff < w.InitialBackoff {
		b.fail("alerts.webhook.max_backoff", "below initial_backoff (%v)", w.InitialBackoff)
	}
}

func (b *builder) positive(path string, v int64) {
	if v <= 0 {
		b.fail(path, "must be positive")
	}
}
