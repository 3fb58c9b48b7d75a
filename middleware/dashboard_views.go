package middleware

import (
	"math"
	"math/bits"
	"net/http"
	"strconv"
	"time"

	"github.com/creditgate/creditgate/usage"
)

type pointJSON struct {
	Start   time.Time `json:"start"`
	Label   string    `json:"label"` // "15:00", or "Mon 2 Mar" for a day
	Credits int64     `json:"credits"`
	Calls   int64     `json:"calls"`
	Refused int64     `json:"refused"`
	Future  bool      `json:"future,omitempty"` // starts after now
}

// periodJSON is a period's totals and points. For the tenant (no filter),
// Capacity is what the pool could have given in the period: Pool once per
// window length the period spans (one pool for a day of a 24-hour pool,
// 30 for 30 days; no window of that length can spend more than the pool),
// and Unused is Capacity less Used, at least 0. The pool is today's: a
// plan changed within the period is not followed back.
type periodJSON struct {
	Tenant         string      `json:"tenant"`
	Period         string      `json:"period"`
	Label          string      `json:"label"`
	TZ             string      `json:"tz"`
	From           time.Time   `json:"from"`
	To             time.Time   `json:"to"`
	Step           string      `json:"step"` // hour or day
	Days           int         `json:"days"`
	Filter         *filterJSON `json:"filter,omitempty"`
	Pool           int64       `json:"pool"`
	Capacity       *int64      `json:"capacity,omitempty"`
	Unused         *int64      `json:"unused,omitempty"`
	Used           int64       `json:"used"`
	Calls          int64       `json:"calls"`
	Refused        int64       `json:"refused"`
	AvgCallsPerDay float64     `json:"avg_calls_per_day"` // Calls over Days (today counts as a day)
	Points         []pointJSON `json:"points"`
}

func (p periodJSON) csv() (string, [][]string) {
	rows := [][]string{{"start", "credits", "calls", "refused"}}
	for _, pt := range p.Points {
		rows = append(rows, []string{pt.Start.Format(time.RFC3339), csvInt(pt.Credits), csvInt(pt.Calls), csvInt(pt.Refused)})
	}
	return "creditgate-" + p.Period + "-by-" + p.Step, rows
}

func (d *dashboard) period(x *dashReq) (any, *dashError) {
	tenant, e := x.usageTenant()
	if e != nil {
		return nil, e
	}
	p, e := d.periodOf(x)
	if e != nil {
		return nil, e
	}
	f, e := x.filter()
	if e != nil {
		return nil, e
	}
	pool := d.src.Pool(x.now, d.poolTenant(x, tenant))
	loc := d.cfg.loc
	out := periodJSON{Tenant: tenant, Period: p.name, Label: p.label, TZ: loc.String(), From: p.since.In(loc),
		To: p.until.In(loc), Step: "hour", Days: p.days, Filter: f.json(), Pool: pool.Limit, Points: []pointJSON{}}
	if p.step != time.Hour {
		out.Step = "day"
	}
	var pts []usage.Point
	if u := d.src.Usage(); u != nil && f == nil {
		pts = u.Series(tenant, p.since, p.until)
	} else if u != nil {
		pts = u.SeriesOf(tenant, f.dim, f.key, p.since, p.until)
	}
	var total usage.Count // saturating sums (see usage.Count.Add)
	for i, c := range p.bucket(pts) {
		start := p.bounds[i].In(loc)
		label := start.Format("15:04")
		if p.step != time.Hour {
			label = start.Format("Mon 2 Jan")
		}
		out.Points = append(out.Points, pointJSON{Start: start, Label: label, Credits: c.Credits, Calls: c.Calls,
			Refused: c.Refused, Future: start.After(x.now)})
		total.Add(c)
	}
	out.Used, out.Calls, out.Refused = total.Credits, total.Calls, total.Refused
	out.AvgCallsPerDay = float64(out.Calls) / float64(p.days)
	if f == nil && pool.Window > 0 {
		capacity := int64(math.MaxInt64) // where the product passes int64 (2^53 a second), not a converted overflow
		if c := float64(pool.Limit) * float64(p.until.Sub(p.since)) / float64(pool.Window); c < math.MaxInt64 {
			capacity = int64(c)
		}
		unused := max(capacity-out.Used, 0)
		if out.Used < 0 && unused < capacity {
			unused = math.MaxInt64 // refunds past the use, and capacity-Used overflowed
		}
		out.Capacity, out.Unused = &capacity, &unused
	}
	return out, nil
}

type topJSON struct {
	Dim    string      `json:"dim"`
	Filter *filterJSON `json:"filter,omitempty"`
	// Total is the drilled-down key's: its credits include settled
	// differences, which the rows (by another dimension) cannot place.
	Total *countJSON  `json:"total,omitempty"`
	Items []countJSON `json:"items"`
}

func (t topJSON) csv() (string, [][]string) {
	name := "creditgate-" + t.Dim
	if t.Filter != nil {
		name = "creditgate-" + t.Filter.Dim + "-by-" + t.Dim
	}
	return name, countRows(t.Dim, t.Items)
}

func (d *dashboard) top(x *dashReq) (any, *dashError) {
	tenant, e := x.usageTenant()
	if e != nil {
		return nil, e
	}
	dim, ok := dimension(x.q.Get("dim"))
	if !ok {
		return nil, bad("dim must be one of app, module, ip, user, method")
	}
	p, e := d.periodOf(x)
	if e != nil {
		return nil, e
	}
	f, e := x.filter()
	if e != nil {
		return nil, e
	}
	n, e := x.rowsN(d.cfg.topN)
	if e != nil {
		return nil, e
	}
	if f != nil && !usage.Kept(f.dim, dim) {
		return nil, bad("app breaks down by user, ip, module or method; user by ip or module")
	}
	out := topJSON{Dim: dimNames[dim], Filter: f.json(), Items: []countJSON{}}
	u := d.src.Usage()
	switch {
	case u == nil:
	case f == nil:
		out.Items = countsOf(u.Rows(tenant, dim, p.since, p.until, n), dim, true)
	default:
		b, _ := u.Breakdown(tenant, f.dim, f.key, dim, p.since, p.until, n) // Kept checked above
		total := countOf(b.Total, f.dim, true)
		out.Total, out.Items = &total, countsOf(b.Rows, dim, true)
	}
	return out, nil
}

type tenantsJSON struct {
	Tenants []string    `json:"tenants"` // every tenant with statistics, sorted
	Items   []countJSON `json:"items"`   // those with calls in the period, by use
}

func (t tenantsJSON) csv() (string, [][]string) {
	return "creditgate-tenants", countRows("tenant", t.Items)
}

func (d *dashboard) tenants(x *dashReq) (any, *dashError) {
	if !x.scope.operator {
		return nil, &dashError{http.StatusForbidden, "the list of tenants is the operator's"}
	}
	p, e := d.periodOf(x)
	if e != nil {
		return nil, e
	}
	out := tenantsJSON{Tenants: []string{}, Items: []countJSON{}}
	if u := d.src.Usage(); u != nil {
		out.Tenants = append(out.Tenants, u.Tenants()...)
		out.Items = countsOf(u.TenantRows(p.since, p.until), 0, false)
	}
	return out, nil
}

type alertJSON struct {
	At        time.Time `json:"at"`
	Threshold int       `json:"threshold"`
	Used      int64     `json:"used"`
	Limit     int64     `json:"limit"`
}

// alertsJSON: the thresholds (percent of the pool), those the pool's use
// is at or above now, and the crossings in the log, newest first.
type alertsJSON struct {
	Enabled    bool        `json:"enabled"` // an alert log is configured
	Thresholds []int       `json:"thresholds"`
	Crossed    []int       `json:"crossed"`
	Items      []alertJSON `json:"items"`
}

func (a alertsJSON) csv() (string, [][]string) {
	rows := [][]string{{"at", "threshold", "used", "limit"}}
	for _, al := range a.Items {
		rows = append(rows, []string{al.At.Format(time.RFC3339), strconv.Itoa(al.Threshold), csvInt(al.Used), csvInt(al.Limit)})
	}
	return "creditgate-alerts", rows
}

func (d *dashboard) alerts(x *dashReq) (any, *dashError) {
	tenant, e := x.tenant()
	if e != nil {
		return nil, e
	}
	out := alertsJSON{Thresholds: []int{}, Crossed: []int{}, Items: []alertJSON{}}
	log := d.cfg.alerts
	if log == nil {
		return out, nil
	}
	out.Enabled, out.Thresholds = true, log.Thresholds()
	name := d.poolTenant(x, tenant) // the limiter's alerts name it too
	pool := d.src.Pool(x.now, name)
	for _, th := range out.Thresholds {
		if reached(pool.Used, pool.Limit, th) {
			out.Crossed = append(out.Crossed, th)
		}
	}
	for _, al := range log.Alerts(name) {
		out.Items = append(out.Items, alertJSON{At: al.At.In(d.cfg.loc), Threshold: al.Threshold, Used: al.Used, Limit: al.Limit})
	}
	return out, nil
}

// reached reports whether used is at least pct percent of limit, exactly
// for any int64s (used·100 and limit·pct in 128 bits: in int64 they
// overflow for a pool past 2^56 credits, which a server may report).
func reached(used, limit int64, pct int) bool {
	switch {
	case limit <= 0:
		return false // no pool: nothing to reach
	case pct <= 0 || used < 0:
		return used >= 0 && pct <= 0
	}
	uh, ul := bits.Mul64(uint64(used), 100)
	lh, ll := bits.Mul64(uint64(limit), uint64(pct))
	return uh > lh || uh == lh && ul >= ll
}
