package usage

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Top returns the n keys of dimension dim with the most credits (then calls,
// then key) for tenant over the hours overlapping [since, until).
func (u *Stats) Top(tenant string, dim Dimension, since, until time.Time, n int) []Count {
	if dim >= numDims || n <= 0 {
		return nil
	}
	out := u.sum(tenant, since, until, func(h *hourUsage) map[string]*Count { return h.dims[dim] })
	slices.SortFunc(out, byUse)
	return out[:min(n, len(out))]
}

// Rows returns the keys of dimension dim for tenant over the hours
// overlapping [since, until), as Top does, but keeps the tail: past n
// rows, the rest is summed into one Other row, last (with what the caps
// folded into Other already), so the rows add up to every call of the
// period. It returns nil when n <= 0.
func (u *Stats) Rows(tenant string, dim Dimension, since, until time.Time, n int) []Count {
	if dim >= numDims || n <= 0 {
		return nil
	}
	return foldTail(u.sum(tenant, since, until, func(h *hourUsage) map[string]*Count { return h.dims[dim] }), n)
}

// Breakdown is a drill-down: the calls whose outer dimension had one key.
type Breakdown struct {
	// Total counts them all. Its credits include the settled differences
	// of an application's calls, which the rows, by another dimension,
	// cannot place (as in Rows of that dimension).
	Total Count
	Rows  []Count // by the inner dimension, as Rows returns them
}

// Breakdown returns tenant's calls over the hours overlapping [since,
// until) whose dimension outer had key, by dimension inner, in at most n
// rows and Other (see Rows). It returns ErrPair unless Kept(outer, inner).
// The breakdowns have caps of their own (WithBreakdownCaps): in an hour
// where they folded key into Other, its calls are in Other's breakdown.
func (u *Stats) Breakdown(tenant string, outer Dimension, key string, inner Dimension, since, until time.Time, n int) (Breakdown, error) {
	i := outerIndex(outer, inner)
	if i < 0 {
		return Breakdown{}, ErrPair
	}
	var b Breakdown
	b.Total.Key = key
	key = dimKey(key) // kept so
	rows := u.sum(tenant, since, until, func(h *hourUsage) map[string]*Count {
		if h.pairs[i] == nil {
			return nil
		}
		r := h.pairs[i].rows[key]
		if r == nil {
			return nil
		}
		b.Total.plus(r.total) // sum calls this under u.mu
		return r.inner[inner]
	})
	if n > 0 {
		b.Rows = foldTail(rows, n)
	}
	return b, nil
}

// sum adds up, key by key, the counts that pick finds in each of tenant's
// hours overlapping [since, until). pick runs under u.mu.
func (u *Stats) sum(tenant string, since, until time.Time, pick func(*hourUsage) map[string]*Count) []Count {
	tenant = tenantKey(tenant) // kept so (see MaxKeyBytes); hashed before mu
	u.flush()
	u.mu.Lock()
	sum := map[string]*Count{}
	if tu := u.tenants[tenant]; tu != nil {
		for _, hr := range hoursIn(nil, tu, hourOf(since), hourOf(until.Add(-1))) {
			for k, c := range pick(tu.hours[hr]) {
				s := sum[k]
				if s == nil {
					s = &Count{Key: k}
					sum[k] = s
				}
				s.plus(*c)
			}
		}
	}
	u.mu.Unlock()
	out := make([]Count, 0, len(sum))
	for _, c := range sum {
		out = append(out, *c)
	}
	return out
}

// hoursIn returns tu's hours in [from, to], oldest first, for every
// query over a tenant's hours: sums over hours add them in time order, so that a sum that saturates (see
// Count.Add) gives the same answer to every query, where the map's order
// made one over an hour at MaxInt64 and one at MinInt64 answer either.
// It appends them to hrs[:0], so that a caller going through many tenants
// reuses one slice.
func hoursIn(hrs []int64, tu *tenantUsage, from, to int64) []int64 {
	hrs = hrs[:0]
	for hr := range tu.hours {
		if hr >= from && hr <= to {
			hrs = append(hrs, hr)
		}
	}
	slices.Sort(hrs)
	return hrs
}

// byUse orders counts by credits, then calls, then key.
func byUse(a, b Count) int {
	return cmp.Or(cmp.Compare(b.Credits, a.Credits), cmp.Compare(b.Calls, a.Calls), cmp.Compare(a.Key, b.Key))
}

// foldTail sorts rows by use and sums those past the first n, and Other,
// into an Other row at the end.
func foldTail(rows []Count, n int) []Count {
	slices.SortFunc(rows, func(a, b Count) int {
		if x, y := a.Key == Other, b.Key == Other; x != y {
			return cmp.Compare(btoi(x), btoi(y))
		}
		return byUse(a, b)
	})
	last := len(rows)
	if last > 0 && rows[last-1].Key == Other {
		last--
	}
	if last <= n {
		return rows
	}
	other := Count{Key: Other}
	for _, c := range rows[n:] {
		other.plus(c)
	}
	return append(rows[:n], other)
}

// Series returns tenant's hour buckets overlapping [since, until) that have
// data, oldest first.
func (u *Stats) Series(tenant string, since, until time.Time) []Point {
	return u.series(tenant, since, until, func(h *hourUsage) *Count { return &h.total })
}

// SeriesOf returns the hours of key in dimension dim, as Series does for
// the tenant: the hour buckets overlapping [since, until) in which key had
// a row of its own. (A key the caps folded in an hour is in Other's.)
func (u *Stats) SeriesOf(tenant string, dim Dimension, key string, since, until time.Time) []Point {
	if dim >= numDims {
		return nil
	}
	key = dimKey(key) // kept so
	return u.series(tenant, since, until, func(h *hourUsage) *Count { return h.dims[dim][key] })
}

func (u *Stats) series(tenant string, since, until time.Time, pick func(*hourUsage) *Count) []Point {
	tenant = tenantKey(tenant) // kept so (see MaxKeyBytes); hashed before mu
	u.flush()
	u.mu.Lock()
	var out []Point
	if tu := u.tenants[tenant]; tu != nil {
		for _, hr := range hoursIn(nil, tu, hourOf(since), hourOf(until.Add(-1))) {
			if c := pick(tu.hours[hr]); c != nil {
				out = append(out, Point{Hour: time.Unix(hr*3600, 0).UTC(), Credits: c.Credits, Calls: c.Calls, Refused: c.Refused})
			}
		}
	}
	u.mu.Unlock()
	return out
}

// Tenants returns the tenants with statistics, sorted.
func (u *Stats) Tenants() []string {
	u.flush()
	u.mu.Lock()
	out := make([]string, 0, len(u.tenants))
	for k, tu := range u.tenants {
		// A row with no hours (flush settled the runs) counts from an
		// hour to come: its calls so far are Other's (see addTenant).
		if len(tu.hours) > 0 {
			out = append(out, k)
		}
	}
	u.mu.Unlock()
	slices.Sort(out)
	return out
}

// TenantRows returns each tenant's totals over the hours overlapping
// [since, until), the tenant in Key, most credits first; tenants with no
// call in the period are left out.
func (u *Stats) TenantRows(since, until time.Time) []Count {
	u.flush()
	u.mu.Lock()
	var out []Count
	var hrs []int64
	from, to := hourOf(since), hourOf(until.Add(-1))
	for k, tu := range u.tenants {
		c := Count{Key: k}
		hrs = hoursIn(hrs, tu, from, to)
		for _, hr := range hrs {
			c.plus(tu.hours[hr].total)
		}
		if c != (Count{Key: k}) {
			out = append(out, c)
		}
	}
	u.mu.Unlock()
	slices.SortFunc(out, byUse)
	return out
}

// Retention returns how long the statistics keep an hour: the retention
// given to New rounded up to whole hours (the largest Duration where that
// passes it).
func (u *Stats) Retention() time.Duration {
	if u.keep > int64(math.MaxInt64/time.Hour) {
		return math.MaxInt64 // the hours overflow a Duration
	}
	return time.Duration(u.keep) * time.Hour
}
