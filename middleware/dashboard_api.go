package middleware

import (
	"net/http"
	"strconv"
	"time"

	"github.com/creditgate/creditgate/usage"
)

// endpoint is one JSON endpoint: the parameters it takes (besides token)
// and what it serves. A result that is a csvTable has a CSV form.
type endpoint struct {
	params []string
	serve  func(*dashboard, *dashReq) (any, *dashError)
}

var endpoints = map[string]endpoint{
	"me":      {nil, (*dashboard).me},
	"summary": {[]string{"tenant"}, (*dashboard).summary},
	"period":  {[]string{"tenant", "period", "date", "app", "user", "format"}, (*dashboard).period},
	"top":     {[]string{"tenant", "period", "date", "dim", "n", "app", "user", "format"}, (*dashboard).top},
	"tenants": {[]string{"period", "date", "format"}, (*dashboard).tenants},
	"alerts":  {[]string{"tenant", "format"}, (*dashboard).alerts},
}

// dimNames are the ?dim= names, in the order of usage's dimensions.
var dimNames = [...]string{usage.App: "app", usage.Module: "module", usage.IP: "ip", usage.User: "user", usage.Method: "method"}

func dimension(name string) (usage.Dimension, bool) {
	for d, n := range dimNames {
		if n == name {
			return usage.Dimension(d), true
		}
	}
	return 0, false
}

// tenant returns the tenant asked for: any for the operator, its own for
// a tenant token.
func (x *dashReq) tenant() (string, *dashError) {
	t := x.q.Get("tenant")
	if len(t) > usage.MaxKeyBytes {
		return "", bad("tenant is longer than any the statistics keep")
	}
	if x.scope.operator {
		return t, nil
	}
	if x.q.Has("tenant") && t != x.scope.tenant {
		return "", &dashError{http.StatusForbidden, "this token reads its own tenant only"}
	}
	return x.scope.tenant, nil
}

// usageTenant is tenant for an endpoint that reads the statistics. A
// tenant token's tenant named usage.Other reads none: its statistics are
// shared with every tenant folded past the statistics' tenant cap.
func (x *dashReq) usageTenant() (string, *dashError) {
	t, e := x.tenant()
	if e == nil && !x.scope.operator && t == usage.Other {
		return "", &dashError{http.StatusForbidden, "the statistics of this tenant are shared with the tenants folded into other"}
	}
	return t, e
}

// poolTenant is the tenant whose pool (and alerts) the view of tenant
// shows. The statistics keep a tenant whose name is not valid UTF-8, or
// too long, under a changed key, which the operator's page lists and asks
// for: its pool is the name's (usage.Stats.TenantName), and a changed key
// no tenant is kept under is asked as it is, a pool no one spent from. A
// tenant token's tenant is its name already.
func (d *dashboard) poolTenant(x *dashReq, tenant string) string {
	if u := d.src.Usage(); u != nil && x.scope.operator {
		if name, ok := u.TenantName(tenant); ok {
			return name
		}
	}
	return tenant
}

func (d *dashboard) periodOf(x *dashReq) (period, *dashError) {
	name := x.q.Get("period")
	switch {
	case !x.q.Has("period") && x.q.Has("date"):
		name = periodDate
	case !x.q.Has("period"):
		name = period24h
	case name != periodDate && x.q.Has("date"):
		return period{}, bad("date goes with period=date only")
	}
	retention := 30 * 24 * time.Hour
	if u := d.src.Usage(); u != nil {
		retention = u.Retention()
	}
	return newPeriod(name, x.q.Get("date"), x.now, d.cfg.loc, retention)
}

// filter is a drill-down: the calls whose dimension dim had key.
type filter struct {
	dim usage.Dimension
	key string
}

type filterJSON struct {
	Dim string `json:"dim"`
	Key string `json:"key"`
}

func (x *dashReq) filter() (*filter, *dashError) {
	app, user := x.q.Has("app"), x.q.Has("user")
	var f filter
	switch {
	case app && user:
		return nil, bad("drill down by app or by user, not both")
	case app:
		f = filter{usage.App, x.q.Get("app")}
	case user:
		f = filter{usage.User, x.q.Get("user")}
	default:
		return nil, nil
	}
	if len(f.key) > usage.MaxKeyBytes {
		return nil, bad("app or user is longer than any the statistics keep")
	}
	return &f, nil
}

func (f *filter) json() *filterJSON {
	if f == nil {
		return nil
	}
	return &filterJSON{Dim: dimNames[f.dim], Key: f.key}
}

type meJSON struct {
	Role      string    `json:"role"`   // operator or tenant
	Tenant    string    `json:"tenant"` // a tenant token's tenant
	TZ        string    `json:"tz"`
	Today     string    `json:"today"` // YYYY-MM-DD in tz
	Now       time.Time `json:"now"`
	Retention int64     `json:"retention_hours"`
	TopN      int       `json:"top_n"`
	MaxRows   int       `json:"max_rows"`
	Alerts    bool      `json:"alerts"` // an alert log is shown
}

func (d *dashboard) me(x *dashReq) (any, *dashError) {
	m := meJSON{Role: "operator", TZ: d.cfg.loc.String(), Now: x.now.In(d.cfg.loc), Today: x.now.In(d.cfg.loc).Format(dateLayout),
		TopN: d.cfg.topN, MaxRows: maxRows, Alerts: d.cfg.alerts != nil}
	if !x.scope.operator {
		m.Role, m.Tenant = "tenant", x.scope.tenant
	}
	if u := d.src.Usage(); u != nil {
		m.Retention = int64(u.Retention() / time.Hour)
	}
	return m, nil
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

func (d *dashboard) summary(x *dashReq) (any, *dashError) {
	tenant, e := x.tenant()
	if e != nil {
		return nil, e
	}
	p := d.src.Pool(x.now, d.poolTenant(x, tenant))
	return summaryJSON{
		Tenant: tenant, Plan: p.Name, Limit: p.Limit, Remaining: p.Remaining, Used: p.Used,
		ResetTime: p.Reset.In(d.cfg.loc), ResetIn: ceilSeconds(p.Reset.Sub(x.now)),
		WindowSeconds: int64(p.Window / time.Second), Now: x.now.In(d.cfg.loc),
	}, nil
}

type countJSON struct {
	Key string `json:"key"`
	// Kind marks the rows that are no key: "other" (the folded tail),
	// "none" (calls without this key: no module, no user), "outside"
	// (usage.Outside's credits). Empty for a key.
	Kind    string `json:"kind,omitempty"`
	Credits int64  `json:"credits"`
	Calls   int64  `json:"calls"`
	Refused int64  `json:"refused"`
}

// countOf is c as a row of dimension dim; tenant rows are not of one.
// usage.Outside is an application's name: as another key (a user a
// client calls "(outside)", say) it is a key like any other.
func countOf(c usage.Count, dim usage.Dimension, isDim bool) countJSON {
	out := countJSON{Key: c.Key, Credits: c.Credits, Calls: c.Calls, Refused: c.Refused}
	switch {
	case c.Key == usage.Other:
		out.Kind = "other"
	case c.Key == "":
		out.Kind = "none"
	case c.Key == usage.Outside && isDim && dim == usage.App:
		out.Kind = "outside"
	}
	return out
}

func countsOf(cs []usage.Count, dim usage.Dimension, isDim bool) []countJSON {
	out := make([]countJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, countOf(c, dim, isDim))
	}
	return out
}

// countRows is the CSV form of counts: the first column named first.
func countRows(first string, items []countJSON) [][]string {
	rows := [][]string{{first, "kind", "credits", "calls", "refused"}}
	for _, c := range items {
		rows = append(rows, []string{csvText(c.Key), c.Kind, csvInt(c.Credits), csvInt(c.Calls), csvInt(c.Refused)})
	}
	return rows
}

func (x *dashReq) rowsN(def int) (int, *dashError) {
	if !x.q.Has("n") {
		return def, nil
	}
	n, err := strconv.Atoi(x.q.Get("n"))
	if err != nil || n < 1 || n > maxRows {
		return 0, bad("n must be a whole number from 1 to 1000")
	}
	return n, nil
}
