package usage

import (
	"cmp"
	"slices"
	"time"
)

// Top returns the n keys of dimension dim with the most credits (then calls,
// then key) for tenant over the hours overlapping [since, until).
func (u *Stats) Top(tenant string, dim Dimension, since, until time.Time, n int) []Count {
	if dim >= numDims || n <= 0 {
		return nil
	}
	u.flush()
	u.mu.Lock()
	sum := map[string]*Count{}
	if tu := u.tenants[tenant]; tu != nil {
		from, to := hourOf(since), hourOf(until.Add(-1))
		for hr, h := range tu.hours {
			if hr < from || hr > to {
				continue
			}
			for k, c := range h.dims[dim] {
				s := sum[k]
				if s == nil {
					s = &Count{Key: k}
					sum[k] = s
				}
				s.Credits, s.Calls, s.Refused = s.Credits+c.Credits, s.Calls+c.Calls, s.Refused+c.Refused
			}
		}
	}
	u.mu.Unlock()
	out := make([]Count, 0, len(sum))
	for _, c := range sum {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Count) int {
		return cmp.Or(cmp.Compare(b.Credits, a.Credits), cmp.Compare(b.Calls, a.Calls), cmp.Compare(a.Key, b.Key))
	})
	return out[:min(n, len(out))]
}

// Series returns tenant's hour buckets overlapping [since, until) that have
// data, oldest first.
func (u *Stats) Series(tenant string, since, until time.Time) []Point {
	u.flush()
	u.mu.Lock()
	var out []Point
	if tu := u.tenants[tenant]; tu != nil {
		from, to := hourOf(since), hourOf(until.Add(-1))
		for hr, h := range tu.hours {
			if hr >= from && hr <= to {
				out = append(out, Point{Hour: time.Unix(hr*3600, 0).UTC(), Credits: h.total.Credits,
					Calls: h.total.Calls, Refused: h.total.Refused})
			}
		}
	}
	u.mu.Unlock()
	slices.SortFunc(out, func(a, b Point) int { return a.Hour.Compare(b.Hour) })
	return out
}

// Tenants returns the tenants with statistics, sorted.
func (u *Stats) Tenants() []string {
	u.flush()
	u.mu.Lock()
	out := make([]string, 0, len(u.tenants))
	for k := range u.tenants {
		out = append(out, k)
	}
	u.mu.Unlock()
	slices.Sort(out)
	return out
}
