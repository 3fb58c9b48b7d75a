package middleware

import (
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/usage"
)

//go:embed dashboard.html
var dashboardHTML []byte

// dashboardCSP allows exactly the page's own inline script and style, by hash,
// and fetches to its own origin: nothing else runs, nothing is loaded from
// elsewhere, and the page cannot be framed.
var dashboardCSP = func() string {
	return "default-src 'none'; connect-src 'self'; img-src 'self' data:; " +
		"script-src " + inlineHash(dashboardHTML, "<script>", "</script>") + "; " +
		"style-src " + inlineHash(dashboardHTML, "<style>", "</style>") + "; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}()

func inlineHash(page []byte, open, end string) string {
	s := string(page)
	i := strings.Index(s, open)
	j := strings.Index(s, end)
	if i < 0 || j < i {
		return "'none'"
	}
	sum := sha256.Sum256([]byte(s[i+len(open) : j]))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// DashboardOption configures [Dashboard].
type DashboardOption interface{ applyDashboard(*dashboardConfig) }

type dashboardOptionFunc func(*dashboardConfig)

func (f dashboardOptionFunc) applyDashboard(c *dashboardConfig) { f(c) }

type dashboardConfig struct {
	tokenSum [32]byte // sha256 of the token, compared in constant time
	hasToken bool
	locked   bool // WithToken(""): no token is accepted
	now      func() time.Time
	topN     int
}

// WithToken makes the dashboard require the token, either as
// "Authorization: Bearer <token>" (the scheme in any case) or as
// ?token=<token> (so that a browser can open the page; the page passes it on
// to the JSON endpoints in the header and sends no Referer). An empty token, such as an unset variable read with
// os.Getenv, locks the dashboard: every request gets 401. A dashboard without
// WithToken is open to anyone who reaches its mount point.
func WithToken(token string) DashboardOption {
	return dashboardOptionFunc(func(c *dashboardConfig) {
		c.hasToken = true
		c.locked = token == ""
		c.tokenSum = sha256.Sum256([]byte(token))
	})
}

// WithDashboardClock replaces time.Now, for tests.
func WithDashboardClock(now func() time.Time) DashboardOption {
	return dashboardOptionFunc(func(c *dashboardConfig) {
		if now != nil {
			c.now = now
		}
	})
}

// WithTopN sets how many entries each top list holds (default 10, at most 100).
func WithTopN(n int) DashboardOption {
	return dashboardOptionFunc(func(c *dashboardConfig) {
		if n > 0 {
			c.topN = min(n, 100)
		}
	})
}

type dashboard struct {
	l   *limiter.Limiter
	cfg dashboardConfig
}

// Dashboard returns a read-only handler that shows l's usage: one HTML page with
// charts drawn by an inline script (no external resources; it works offline)
// and the JSON endpoints it reads. Mount it under a prefix ending in a slash,
// like net/http/pprof; it routes on the end of the path, so no StripPrefix is
// needed:
//
//	mux.Handle("/dashboard/", middleware.Dashboard(l, middleware.WithToken(tok)))
//
// Endpoints, relative to the mount point, all GET or HEAD, all taking
// ?tenant= (default "") and the numeric ones ?hours= (default: the plan's
// window, at most 30 days):
//
//	./                 the page
//	./api/summary      credits used vs pool now: {tenant, plan, limit, remaining, used, reset_time, reset_in, window_seconds, now}
//	./api/series       hourly points: {points: [{hour, credits, calls, refused}], limit}
//	./api/top?dim=app  top entries of a dimension (app, module, ip, user, method): {dim, items: [{key, credits, calls, refused}]}
//
// Without [WithToken] anyone who can reach the mount point may read it.
// Nothing is served unless the handler is mounted. Statistics come from the
// limiter's [limiter.Usage]; without one the lists and series are empty.
// A nil l is a programmer error and panics here rather than on the first request.
func Dashboard(l *limiter.Limiter, opts ...DashboardOption) http.Handler {
	if l == nil {
		panic("middleware: Dashboard with a nil limiter")
	}
	d := &dashboard{l: l, cfg: dashboardConfig{now: time.Now, topN: 10}}
	for _, o := range opts {
		if o != nil {
			o.applyDashboard(&d.cfg)
		}
	}
	return d
}

func (d *dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		writeFailure(w, problemBodies{}, Failure{Status: http.StatusMethodNotAllowed, Detail: "the dashboard is read-only"})
		return
	}
	if !d.authorized(r) {
		h.Set("WWW-Authenticate", `Bearer realm="creditgate dashboard"`)
		writeFailure(w, problemBodies{}, Failure{Status: http.StatusUnauthorized, Detail: "a valid dashboard token is required"})
		return
	}
	path := r.URL.Path
	switch {
	case strings.HasSuffix(path, "/api/summary"):
		d.serveJSON(w, d.summary(r))
	case strings.HasSuffix(path, "/api/series"):
		d.serveJSON(w, d.series(r))
	case strings.HasSuffix(path, "/api/top"):
		dim, ok := dimensions[r.URL.Query().Get("dim")]
		if !ok {
			writeFailure(w, problemBodies{}, Failure{Status: http.StatusBadRequest, Detail: "dim must be one of app, module, ip, user, method"})
			return
		}
		d.serveJSON(w, d.top(r, dim))
	case path == "" || strings.HasSuffix(path, "/"):
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", dashboardCSP)
		h.Set("X-Frame-Options", "DENY")
		_, _ = w.Write(dashboardHTML)
	default:
		writeFailure(w, problemBodies{}, Failure{Status: http.StatusNotFound, Detail: "no such dashboard page"})
	}
}

func (d *dashboard) authorized(r *http.Request) bool {
	if !d.cfg.hasToken {
		return true
	}
	if d.cfg.locked {
		return false
	}
	tok, ok := bearerToken(r.Header.Get("Authorization"))
	if !ok {
		tok = r.URL.Query().Get("token")
	}
	// Comparing fixed-size digests keeps the time independent of the token's
	// length as well as its content.
	sum := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(sum[:], d.cfg.tokenSum[:]) == 1
}

// bearerToken returns the token of an Authorization value of the Bearer
// scheme, whose name is case-insensitive and followed by one or more spaces
// (RFC 9110, section 11.4; RFC 6750, section 2.1).
func bearerToken(auth string) (string, bool) {
	scheme, tok, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimLeft(tok, " "), true
}

func (d *dashboard) serveJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

// dimensions maps the ?dim= names to limiter dimensions.
var dimensions = map[string]usage.Dimension{
	"app": usage.App, "module": usage.Module, "ip": usage.IP,
	"user": usage.User, "method": usage.Method,
}

// span returns the tenant and the [since, until) range a request asks for.
func (d *dashboard) span(r *http.Request) (tenant string, since, until time.Time) {
	q := r.URL.Query()
	tenant = q.Get("tenant")
	hours := int(d.l.Plan(tenant).WindowLength() / time.Hour)
	if n, err := strconv.Atoi(q.Get("hours")); err == nil {
		hours = n
	}
	hours = min(max(hours, 1), 30*24)
	// Whole hours, the current one included: [since, until) is exclusive.
	until = d.cfg.now().Truncate(time.Hour).Add(time.Hour)
	since = until.Add(-time.Duration(hours) * time.Hour)
	return tenant, since, until
}

type summaryJSON struct {
	Tenant        string    `json:"tenant"`
	Plan          string    `json:"plan"`
	Limit         int64     `json:"limit"`
	Remaining     int64     `json:"remaining"`
	Used          int64     `json:"used"`
	ResetTime     time.Time `json:"reset_time"`
	ResetIn       int64     `json:"reset_in"`
	WindowSeconds int64     `json:"window_seconds"`
	Now           time.Time `json:"now"`
}

func (d *dashboard) summary(r *http.Request) summaryJSON {
	tenant := r.URL.Query().Get("tenant")
	now := d.cfg.now()
	p := d.l.Plan(tenant)
	dec := d.l.Peek(now, tenant)
	return summaryJSON{
		Tenant: tenant, Plan: p.Name, Limit: dec.Limit, Remaining: dec.Remaining,
		Used: max(dec.Limit-dec.Remaining, 0), ResetTime: dec.Reset.UTC(),
		ResetIn: ceilSeconds(dec.Reset.Sub(now)), WindowSeconds: int64(p.WindowLength() / time.Second),
		Now: now.UTC(),
	}
}

type pointJSON struct {
	Hour    time.Time `json:"hour"`
	Credits int64     `json:"credits"`
	Calls   int64     `json:"calls"`
	Refused int64     `json:"refused"`
}

type seriesJSON struct {
	Limit  int64       `json:"limit"`
	Points []pointJSON `json:"points"`
}

func (d *dashboard) series(r *http.Request) seriesJSON {
	tenant, since, until := d.span(r)
	out := seriesJSON{Limit: d.l.Peek(d.cfg.now(), tenant).Limit, Points: []pointJSON{}}
	// One point per hour of the range, empty hours included, so that the
	// chart's x axis is time.
	for h := since; h.Before(until); h = h.Add(time.Hour) {
		out.Points = append(out.Points, pointJSON{Hour: h.UTC()})
	}
	u := d.l.Usage()
	if u == nil {
		return out
	}
	for _, p := range u.Series(tenant, since, until) {
		i := int(p.Hour.Truncate(time.Hour).Sub(since) / time.Hour)
		if i < 0 || i >= len(out.Points) {
			continue
		}
		pt := &out.Points[i]
		pt.Credits += p.Credits
		pt.Calls += p.Calls
		pt.Refused += p.Refused
	}
	return out
}

type countJSON struct {
	Key     string `json:"key"`
	Credits int64  `json:"credits"`
	Calls   int64  `json:"calls"`
	Refused int64  `json:"refused"`
}

type topJSON struct {
	Dim   string      `json:"dim"`
	Items []countJSON `json:"items"`
}

func (d *dashboard) top(r *http.Request, dim usage.Dimension) topJSON {
	tenant, since, until := d.span(r)
	out := topJSON{Dim: r.URL.Query().Get("dim"), Items: []countJSON{}}
	u := d.l.Usage()
	if u == nil {
		return out
	}
	for _, c := range u.Top(tenant, dim, since, until, d.cfg.topN) {
		out.Items = append(out.Items, countJSON{Key: c.Key, Credits: c.Credits, Calls: c.Calls, Refused: c.Refused})
	}
	return out
}
