package usage

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// model is a trivially correct reference for the statistics without the
// caps on keys (tests keep them below maxPerDimension) and without pruning
// (they stay within the retention): it adds each event to a count per
// tenant, hour, dimension and key, folding tenants past DefaultTenants
// into Other in the order it sees them.
type model struct {
	counts map[modelKey]Count
	kept   map[string]bool
}

type modelKey struct {
	tenant string
	hour   int64
	dim    Dimension
	key    string
}

func newModel() *model { return &model{counts: map[modelKey]Count{}, kept: map[string]bool{}} }

func (m *model) tenant(t string) string {
	t = clip(t)
	if !m.kept[t] && len(m.kept) < DefaultTenants {
		m.kept[t] = true
	}
	if !m.kept[t] {
		return Other
	}
	return t
}

func (m *model) add(tenant string, hour int64, dim Dimension, key string, c Count) {
	k := modelKey{m.tenant(tenant), hour, dim, clip(key)}
	w := m.counts[k]
	w.plus(c)
	m.counts[k] = w
}

func (m *model) record(e *Event) {
	c := Count{Credits: e.Credits, Calls: 1}
	if e.Refused {
		c = Count{Refused: 1}
	}
	for d, k := range [numDims]string{e.App, e.Module, e.IP, e.User, e.Method} {
		m.add(e.Tenant, hourOf(e.At), Dimension(d), k, c)
	}
}

func (m *model) settle(at time.Time, tenant, app string, delta int64) {
	m.add(tenant, hourOf(at), App, app, Count{Credits: delta})
}

// check compares every count of the model with the statistics' Top, and
// the statistics' rows with the model's.
func (m *model) check(t *testing.T, u *Stats, what string) {
	t.Helper()
	got := map[modelKey]Count{}
	for tenant := range m.tenantsSeen() {
		for _, p := range u.Series(tenant, t0.Add(-24*time.Hour), t0.Add(24*time.Hour)) {
			at := p.Hour
			for d := range numDims {
				for _, c := range u.Top(tenant, d, at, at.Add(time.Hour), 1<<20) {
					got[modelKey{tenant, hourOf(at), d, c.Key}] = Count{Credits: c.Credits, Calls: c.Calls, Refused: c.Refused}
				}
			}
		}
	}
	for k, w := range m.counts {
		if got[k] != w {
			t.Fatalf("%s: %+v = %+v, want %+v", what, k, got[k], w)
		}
		delete(got, k)
	}
	for k, g := range got {
		t.Fatalf("%s: %+v = %+v, not in the model", what, k, g)
	}
}

func (m *model) tenantsSeen() map[string]bool {
	out := map[string]bool{}
	for k := range m.counts {
		out[k.tenant] = true
	}
	return out
}

// keyPool hands out keys that are sometimes the same strings again and
// sometimes equal copies, long ones among them, so that both the pointer
// shortcuts and the byte comparisons get their turn.
type keyPool struct {
	rng  *rand.Rand
	keys []string
}

func newKeyPool(rng *rand.Rand, prefix string, n int) *keyPool {
	p := &keyPool{rng: rng}
	for i := range n {
		k := fmt.Sprint(prefix, i)
		if i%7 == 3 {
			k += strings.Repeat("L", MaxKeyBytes) // clipped
		}
		p.keys = append(p.keys, k)
	}
	return p
}

func (p *keyPool) pick(i int) string {
	k := p.keys[i%len(p.keys)]
	if p.rng.IntN(5) == 0 {
		return strings.Clone(k)
	}
	return k
}

// Aggregation finds runs by the strings' pointers as well as by their
// bytes (see apply): events from more tenants than DefaultTenants, in
// bursts and not, their keys the same strings or equal copies, long or
// short, refused or settled, over three hours, with queries between them,
// count exactly as the model does.
func TestUsageMatchesModelManyTenants(t *testing.T) {
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 17))
		u, m := newStats(t, 0, 1000), newModel()
		tenants := newKeyPool(rng, "t", DefaultTenants+300)
		apps, users := newKeyPool(rng, "a", 3), newKeyPool(rng, "u", 4)
		var e Event
		for step := range 12_000 {
			if rng.IntN(3) > 0 || step == 0 { // else the same event again: a burst
				hour := time.Duration(rng.IntN(3)) * time.Hour
				e = Event{At: t0.Add(hour), Tenant: tenants.pick(rng.IntN(len(tenants.keys))), App: apps.pick(rng.IntN(3)),
					Module: "Leads", IP: "192.0.2.1", User: users.pick(rng.IntN(4)), Method: "GET",
					Credits: rng.Int64N(5), Refused: rng.IntN(8) == 0}
			}
			if rng.IntN(10) == 0 {
				d := rng.Int64N(5) - 2
				u.SettleIn(0, e.At, e.Tenant, e.App, d) // one buffer: aggregated in this order
				m.settle(e.At, e.Tenant, e.App, d)
			} else {
				u.RecordIn(0, &e)
				m.record(&e)
			}
			if step%3001 == 0 {
				m.check(t, u, fmt.Sprintf("seed %d step %d", seed, step))
			}
		}
		m.check(t, u, fmt.Sprintf("seed %d end", seed))
	}
}

// Past the cap a filter of the kept tenants' names spares the map (see
// tenantOf). When the retention drops a tenant, the filter is set anew from
// those left: they still count as themselves, not as Other, and a new
// tenant counts as Other while the cap is still reached.
func TestUsageTenantFilterAfterPrune(t *testing.T) {
	u := newStats(t, 2*time.Hour, 100) // one buffer: aggregated in the order recorded
	h1, h2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	recordIn(u, 0, t0, "gone", "a", "m", "ip", "u", "GET", 1, false)
	for i := range DefaultTenants { // the last folds into Other
		recordIn(u, 0, h1, fmt.Sprint("t", i), "a", "m", "ip", "u", "GET", 1, false)
	}
	for _, app := range []string{"a", "b"} { // two events move the window to h2: "gone" goes
		recordIn(u, 0, h2, "t5", app, "m", "ip", "u", "GET", 1, false)
	}
	recordIn(u, 0, h2, "new", "a", "m", "ip", "u", "GET", 1, false)
	if n := len(u.Tenants()); n != DefaultTenants {
		t.Fatalf("%d tenants, want %d", n, DefaultTenants)
	}
	for _, c := range []struct {
		tenant string
		want   int64
	}{{"t5", 2}, {Other, 1}, {"gone", 0}} {
		var got int64
		for _, p := range u.Series(c.tenant, h2, h2.Add(time.Hour)) {
			got += p.Calls
		}
		if got != c.want {
			t.Errorf("%s: %d calls at h2, want %d", c.tenant, got, c.want)
		}
	}
}

// Once the cap is reached, RecordIn folds the tenants not kept as it
// records them (see tenantFilter): their events merge in the buffer as one
// tenant's burst, and count as Other's; a kept tenant's do not fold.
func TestUsageFoldsWhenRecorded(t *testing.T) {
	u := newStats(t, 0, 100)
	for i := range DefaultTenants + 1 { // the last one folds: Other exists
		recordIn(u, 0, t0, fmt.Sprint("t", i), "a", "m", "ip", "u", "GET", 1, false)
	}
	u.Tenants()         // aggregate: the filter is full
	want, last := 0, "" // events buffered: the filter lets 1.5 % through
	for i := range 500 {
		tenant := fmt.Sprint("late", i)
		if u.filter.folds(tenant) {
			tenant = Other
		}
		if tenant != last {
			want, last = want+1, tenant
		}
		recordIn(u, 0, t0, fmt.Sprint("late", i), "a", "m", "ip", "u", "GET", 2, false)
	}
	recordIn(u, 0, t0, "t7", "a", "m", "ip", "u", "GET", 3, false)
	if n := len(u.shardOf(0).buf); n != want+1 || n > 50 {
		t.Fatalf("%d events buffered, want %d", n, want+1)
	}
	for _, c := range []struct {
		tenant string
		want   Count
	}{{Other, Count{Key: Other, Credits: 1 + 1000, Calls: 501}}, {"t7", Count{Key: "t7", Credits: 4, Calls: 2}}} {
		rows := u.TenantRows(t0, t0.Add(time.Hour))
		i := slices.IndexFunc(rows, func(r Count) bool { return r.Key == c.tenant })
		if i < 0 || rows[i] != c.want {
			t.Fatalf("%s: %+v, want %+v", c.tenant, rows, c.want)
		}
	}
}

// The filter never folds a kept tenant, and lets few others through: each
// that passes costs its run in the buffer (see keptWords).
func TestUsageTenantFilterRates(t *testing.T) {
	u := newStats(t, 0, 100)
	for i := range DefaultTenants + 1 {
		recordIn(u, 0, t0, fmt.Sprint("kept-", i), "a", "m", "ip", "u", "GET", 1, false)
	}
	u.Tenants()
	for i := range DefaultTenants - 1 { // Other is the last one
		if name := fmt.Sprint("kept-", i); u.filter.folds(name) {
			t.Fatalf("kept tenant %s folds", name)
		}
	}
	passed := 0
	const others = 100_000
	for i := range others {
		if !u.filter.folds(fmt.Sprint("tenant-", i)) {
			passed++
		}
	}
	if passed > others/200 {
		t.Fatalf("%d of %d tenants not kept passed the filter, want at most 0.5 %% (one bit in 8 KB let 1.7 %% through)", passed, others)
	}
}
