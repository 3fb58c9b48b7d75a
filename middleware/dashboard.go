package middleware

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
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

// DashboardSource is what a dashboard shows: usage statistics, and each
// tenant's pool as it stands. [Dashboard] reads a *limiter.Limiter, the
// server's view. A process calling such an API through the client
// transport has the same two things (the statistics its integrations
// record into, the pool its governor reads from the server's headers) and
// serves the same page for its own integrations with [DashboardOf]; the
// spending of others it learns from the headers goes to
// usage.Stats.RecordOutside, shown as its own row.
type DashboardSource interface {
	// Usage returns the statistics; nil shows empty lists and charts.
	Usage() *usage.Stats
	// Pool returns tenant's pool at now: Limit, Remaining, Used, Reset,
	// Window and Name (the plan) are shown. tenant is the name the calls
	// were recorded with, also for a tenant the statistics list under a
	// changed key (see usage.Stats.TenantName).
	Pool(now time.Time, tenant string) Pool
}

// limiterSource is a Limiter as a DashboardSource.
type limiterSource struct{ l *limiter.Limiter }

func (s limiterSource) Usage() *usage.Stats { return s.l.Usage() }

func (s limiterSource) Pool(now time.Time, tenant string) Pool {
	p := s.l.Plan(tenant)
	dec := s.l.Peek(now, tenant)
	return Pool{Limit: dec.Limit, Remaining: dec.Remaining, Used: max(dec.Limit-dec.Remaining, 0),
		Reset: dec.Reset, Window: p.WindowLength(), Name: p.Name,
		Present: FieldLimit | FieldRemaining | FieldUsed | FieldReset | FieldWindow}
}

// DashboardOption configures [Dashboard].
type DashboardOption interface{ applyDashboard(*dashboardConfig) }

type dashboardOptionFunc func(*dashboardConfig)

func (f dashboardOptionFunc) applyDashboard(c *dashboardConfig) { f(c) }

type dashboardConfig struct {
	tokenSum     [32]byte // sha256 of the operator's token, compared in constant time
	hasToken     bool     // some token is required
	locked       bool     // WithToken(""): no token is the operator's
	tenantTokens map[[32]byte]string
	tenantOf     func(string) (string, bool)
	now          func() time.Time
	loc          *time.Location
	topN         int
	alerts       *AlertLog
}

// WithDashboardClock replaces time.Now, for tests.
func WithDashboardClock(now func() time.Time) DashboardOption {
	return dashboardOptionFunc(func(c *dashboardConfig) {
		if now != nil {
			c.now = now
		}
	})
}

// WithTopN sets how many rows a list holds when ?n= is not given (default
// 10, at most maxRows); the rest is summed into one "other" row.
func WithTopN(n int) DashboardOption {
	return dashboardOptionFunc(func(c *dashboardConfig) {
		if n > 0 {
			c.topN = min(n, maxRows)
		}
	})
}

// WithLocation sets the time zone of the periods (today, yesterday, a
// date, the days of the last 30) and of the times shown: the account's
// time zone. Default UTC.
func WithLocation(loc *time.Location) DashboardOption {
	return dashboardOptionFunc(func(c *dashboardConfig) {
		if loc != nil {
			c.loc = loc
		}
	})
}

// WithAlertLog shows log's thresholds and crossings on the page.
func WithAlertLog(log *AlertLog) DashboardOption {
	return dashboardOptionFunc(func(c *dashboardConfig) { c.alerts = log })
}

// maxRows bounds the rows of a list (?n=).
const maxRows = 1000

type dashboard struct {
	src DashboardSource
	cfg dashboardConfig
}

// Dashboard returns a read-only handler that shows l's usage like Zoho's API
// dashboard: one HTML page (charts drawn by its inline script, no external
// resources; it works offline) and the JSON endpoints it reads. Mount it
// under a prefix ending in a slash, like net/http/pprof; it routes on the
// end of the path, so no StripPrefix is needed:
//
//	mux.Handle("/dashboard/", middleware.Dashboard(l, middleware.WithToken(tok)))
//
// Endpoints, relative to the mount point, all GET or HEAD (see
// dashboard_api.go for the fields):
//
//	./              the page (no data: served without a token); its query (tenant, period, date, app, user) is the view, a link to share
//	./api/me        who the token is: {role: operator|tenant, tenant, tz, today, ...}
//	./api/summary   the pool now: {tenant, plan, limit, remaining, used, reset_time, reset_in, ...}
//	./api/period    a period's totals and its points (hours, or days for 30d)
//	./api/top       one dimension's rows (dim=app|module|ip|user|method), or a breakdown (app= or user=)
//	./api/tenants   the tenants by use (operator only)
//	./api/alerts    the thresholds and the crossings ([WithAlertLog])
//
// Parameters: tenant (default ""), period (24h, today, yesterday, 30d,
// date; default 24h), date (YYYY-MM-DD), dim, n (rows, 1 to 1000; the rest
// is summed into "other"), app or user (drill down), format (json or csv,
// for top, period, tenants, alerts). A bad or unknown parameter is a 400
// saying which; a tenant token asking for another tenant, a 403.
//
// Without [WithToken], [WithTenantToken] or [WithTenantTokens] anyone who
// can reach the mount point may read every tenant. With them, the page
// asks for a token, or takes it once from ?token= and keeps it for the
// browser tab (sessionStorage), out of the links it makes. A nil l is a
// programmer error and panics here rather than on the first request.
func Dashboard(l *limiter.Limiter, opts ...DashboardOption) http.Handler {
	if l == nil {
		panic("middleware: Dashboard with a nil limiter")
	}
	return DashboardOf(limiterSource{l}, opts...)
}

// DashboardOf is Dashboard over any source of statistics and pools.
func DashboardOf(src DashboardSource, opts ...DashboardOption) http.Handler {
	if src == nil {
		panic("middleware: DashboardOf with a nil source")
	}
	d := &dashboard{src: src, cfg: dashboardConfig{now: time.Now, topN: 10, loc: time.UTC}}
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
		d.fail(w, &dashError{http.StatusMethodNotAllowed, "the dashboard is read-only"})
		return
	}
	path := r.URL.Path
	if path != "" && !strings.HasSuffix(path, "/") {
		i := strings.LastIndex("/"+path, "/api/") // "/" for a path stripped of its prefix
		if i < 0 {
			d.fail(w, &dashError{http.StatusNotFound, "no such dashboard page"})
			return
		}
		sc, ok := d.authorize(r)
		if !ok {
			h.Set("WWW-Authenticate", `Bearer realm="creditgate dashboard"`)
			d.fail(w, &dashError{http.StatusUnauthorized, "a valid dashboard token is required"})
			return
		}
		d.serveAPI(w, r, ("/" + path)[i+len("/api/"):], sc)
		return
	}
	// The page holds no data and is served to anyone: it asks for a token
	// (kept in the tab's sessionStorage, not in its links, so that a link
	// to a view can be shared) and reads everything through the API.
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", dashboardCSP)
	h.Set("X-Frame-Options", "DENY")
	_, _ = w.Write(dashboardHTML)
}

// dashError is a request the dashboard refuses: a status and one fixed
// sentence, which never quotes the request.
type dashError struct {
	status int
	detail string
}

func bad(detail string) *dashError { return &dashError{http.StatusBadRequest, detail} }

func (d *dashboard) fail(w http.ResponseWriter, e *dashError) {
	writeFailure(w, problemBodies{}, Failure{Status: e.status, Detail: e.detail})
}

// dashReq is one API request: its parameters, checked, and who asks.
type dashReq struct {
	q     url.Values
	scope scope
	now   time.Time
}

func (d *dashboard) serveAPI(w http.ResponseWriter, r *http.Request, name string, sc scope) {
	ep, ok := endpoints[name]
	if !ok {
		d.fail(w, &dashError{http.StatusNotFound, "no such dashboard endpoint"})
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		d.fail(w, bad("the query string is malformed"))
		return
	}
	if e := checkParams(q, ep.params); e != nil {
		d.fail(w, e)
		return
	}
	v, e := ep.serve(d, &dashReq{q: q, scope: sc, now: d.cfg.now()})
	if e != nil {
		d.fail(w, e)
		return
	}
	if t, ok := v.(csvTable); ok && q.Get("format") == "csv" {
		writeCSV(w, t)
		return
	}
	body, err := json.Marshal(v)
	if err != nil {
		d.fail(w, &dashError{http.StatusInternalServerError, "the answer cannot be encoded as JSON"})
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(append(body, '\n'))
}

// checkParams refuses a parameter the endpoint does not take, one given
// twice, and a format other than json or csv.
func checkParams(q url.Values, allowed []string) *dashError {
	for k, vs := range q {
		if k != "token" && !slices.Contains(allowed, k) {
			return bad("unknown parameter; this endpoint takes " + strings.Join(allowed, ", "))
		}
		if len(vs) > 1 {
			return bad("a parameter is given more than once")
		}
	}
	if f := q.Get("format"); q.Has("format") && f != "json" && f != "csv" {
		return bad("format must be json or csv")
	}
	return nil
}
