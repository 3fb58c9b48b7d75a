package limiter

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// usageModel counts what a Limiter's decisions and settles should add to
// the statistics, by tenant, dimension and key, and by tenant and hour.
type usageModel struct {
	mu    sync.Mutex
	dims  map[[3]string]Count // tenant, dimension, key
	hours map[string]map[int64]Count
}

func newUsageModel() *usageModel {
	return &usageModel{dims: map[[3]string]Count{}, hours: map[string]map[int64]Count{}}
}

var modelDims = []struct {
	name string
	d    Dimension
}{{"app", DimApp}, {"module", DimModule}, {"ip", DimIP}, {"user", DimUser}, {"method", DimMethod}}

func (m *usageModel) add(at time.Time, req Request, c Count, appOnly bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := []string{req.App, req.Module, req.IP, req.User, req.Method}
	for i, d := range modelDims {
		if appOnly && d.d != DimApp {
			continue
		}
		k := [3]string{req.Tenant, d.name, keys[i]}
		w := m.dims[k]
		w.plus(c)
		m.dims[k] = w
	}
	if m.hours[req.Tenant] == nil {
		m.hours[req.Tenant] = map[int64]Count{}
	}
	w := m.hours[req.Tenant][hourOf(at)]
	w.plus(c)
	m.hours[req.Tenant][hourOf(at)] = w
}

// check compares every row of u's Top and Series with the model.
func (m *usageModel) check(t *testing.T, u *Usage, tenants []string, from time.Time, hours int) {
	t.Helper()
	to := from.Add(time.Duration(hours) * time.Hour)
	want := map[[3]string]Count{}
	for k, c := range m.dims {
		if c != (Count{}) {
			want[k] = c
		}
	}
	for _, tenant := range tenants {
		for _, d := range modelDims {
			for _, c := range u.Top(tenant, d.d, from, to, 1000) {
				k := [3]string{tenant, d.name, c.Key}
				if got := (Count{Credits: c.Credits, Calls: c.Calls, Refused: c.Refused}); got != want[k] {
					t.Fatalf("%v = %+v, want %+v", k, got, want[k])
				}
				delete(want, k)
			}
		}
		series := u.Series(tenant, from, to)
		if len(series) != len(m.hours[tenant]) {
			t.Fatalf("%s: %d hours in the series, want %d", tenant, len(series), len(m.hours[tenant]))
		}
		for _, p := range series {
			w := m.hours[tenant][hourOf(p.Hour)]
			if p.Credits != w.Credits || p.Calls != w.Calls || p.Refused != w.Refused {
				t.Fatalf("%s at %v: %+v, want %+v", tenant, p.Hour, p, w)
			}
		}
	}
	for k, c := range want {
		t.Fatalf("%v = %+v missing from Top", k, c)
	}
}

// TestUsageRunsMatchModel drives a Limiter whose tenants keep usage runs
// with random calls from three goroutines (keys that repeat, as runs
// expect, and that change, hours that move back and forth, refusals from a
// small concurrency cap, settles), while a fourth reads the statistics (and
// so collects the runs) at random and, in half the seeds, closes the
// Limiter halfway: every figure must match a plain count of the decisions.
func TestUsageRunsMatchModel(t *testing.T) {
	pick := func(rng *rand.Rand, xs ...string) string { return xs[rng.IntN(len(xs))] }
	tenants := []string{"t1", "t2", "t3"}
	for seed := range uint64(12) {
		u := NewUsage(0, 1000)
		l, err := New(Plan{Name: "p", BaseCredits: 1 << 30, Concurrency: 2}, WithUsage(u))
		if err != nil {
			t.Fatal(err)
		}
		if !l.runs.Load() {
			t.Fatal("a limiter with usage and the in-memory store does not keep runs")
		}
		m := newUsageModel()
		var done atomic.Int32
		var wg sync.WaitGroup
		for g := range 3 {
			wg.Go(func() {
				defer done.Add(1)
				rng := rand.New(rand.NewPCG(seed, uint64(g)))
				var held []Ticket
				for range 1500 {
					at := t0.Add(time.Duration(rng.IntN(3))*time.Hour + time.Duration(rng.IntN(60))*time.Minute)
					req := Request{Tenant: pick(rng, tenants...), App: pick(rng, "crm", "sync"), Module: pick(rng, "Leads", "Deals"),
						IP: "192.0.2.1", User: pick(rng, "u1", "u1", "u1", "u2"), Method: "GET", Credits: rng.Int64N(5)}
					if rng.IntN(3) > 0 { // runs: repeat the previous keys
						req.App, req.Module, req.User = "crm", "Leads", "u1"
					}
					tk, d := l.Acquire(at, req)
					if !d.Allowed {
						m.add(at, req, Count{Refused: 1}, false)
						continue
					}
					m.add(at, req, Count{Credits: req.Credits, Calls: 1}, false)
					if rng.IntN(4) == 0 {
						actual := rng.Int64N(7)
						tk.Settle(at, actual)
						if delta := actual - req.Credits; delta != 0 {
							m.add(at, req, Count{Credits: delta}, true)
						}
					}
					if rng.IntN(3) == 0 && len(held) < 1 { // hold one: the cap of 2 then refuses some
						held = append(held, tk)
						continue
					}
					tk.Release()
					for _, h := range held {
						h.Release()
					}
					held = held[:0]
				}
				for _, h := range held {
					h.Release()
				}
			})
		}
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, 99))
			closed := seed%2 == 1
			for done.Load() < 3 {
				switch rng.IntN(4) {
				case 0:
					u.Top(pick(rng, tenants...), DimUser, t0, t0.Add(3*time.Hour), 10)
				case 1:
					if closed && done.Load() > 0 {
						closed = false
						if err := l.Close(context.Background()); err != nil {
							t.Error(err)
						}
					}
				}
				time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
			}
		})
		wg.Wait()
		t.Logf("seed %d", seed)
		m.check(t, u, tenants, t0, 3)
		if err := l.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if l.runs.Load() || len(u.sources) != 0 {
			t.Fatalf("closed: runs %v, %d sources left", l.runs.Load(), len(u.sources))
		}
	}
}

// Evicting a tenant hands its run over: nothing it counted is lost, and a
// tenant re-created afterwards counts on from there.
func TestUsageRunsSurviveEviction(t *testing.T) {
	u := NewUsage(0, 100)
	l := mustNew(t, Plan{Name: "p", BaseCredits: 100, Concurrency: 5}, WithUsage(u), WithMaxTenants(1))
	m := newUsageModel()
	for i := range 20 {
		req := Request{Tenant: []string{"a", "b"}[i%2], App: "crm", Method: "GET"} // free calls: the pool stays full, so idle tenants go
		at := t0.Add(time.Duration(i) * time.Second)
		tk, d := l.Acquire(at, req)
		if !d.Allowed {
			t.Fatalf("call %d: %v", i, d.Reason)
		}
		tk.Release()
		m.add(at, req, Count{Calls: 1}, false)
	}
	if ev := l.mem.Evicted(); ev < 10 {
		t.Fatalf("%d evictions, want a tenant evicted by each new one", ev)
	}
	m.check(t, u, []string{"a", "b"}, t0, 1)
}

// Two Limiters with different statistics on one store: the first keeps
// runs in the tenants, the second records into its buffers, and each
// counts only its own calls.
func TestUsageRunsSharedStore(t *testing.T) {
	s := NewMemoryStore()
	u1, u2 := NewUsage(0, 100), NewUsage(0, 100)
	p := Plan{Name: "p", BaseCredits: 100, Concurrency: 5}
	l1 := mustNew(t, p, WithStore(s), WithUsage(u1))
	l2 := mustNew(t, p, WithStore(s), WithUsage(u2))
	if !l1.runs.Load() || l2.runs.Load() {
		t.Fatalf("runs: first %v, second %v", l1.runs.Load(), l2.runs.Load())
	}
	for i := range 6 {
		l := []*Limiter{l1, l2}[i%2]
		tk, _ := l.Acquire(t0, Request{Tenant: "o", App: "crm", Credits: int64(1 + i%2)})
		tk.Release()
	}
	for _, c := range []struct {
		u    *Usage
		want Point
	}{{u1, Point{Credits: 3, Calls: 3}}, {u2, Point{Credits: 6, Calls: 3}}} {
		got := c.u.Series("o", t0, t0.Add(time.Hour))
		if len(got) != 1 || got[0].Credits != c.want.Credits || got[0].Calls != c.want.Calls {
			t.Fatalf("series %+v, want %+v", got, c.want)
		}
	}
}

// Recording into a run allocates nothing, keys changing or not.
func TestUsageRunAllocs(t *testing.T) {
	l := mustNew(t, Plan{Name: "p", BaseCredits: 1 << 40, Concurrency: 5}, WithUsage(NewUsage(0, 10)))
	i := 0
	allocs := testing.AllocsPerRun(5000, func() {
		i++
		tk, _ := l.Acquire(t0, Request{Tenant: "o", App: "crm", User: []string{"u1", "u2"}[i/100%2], Credits: 1})
		tk.Release()
	})
	if allocs > 0.01 {
		t.Fatalf("an admission with usage allocates %v", allocs)
	}
}

// A call that finds its tenant's run locked (another core counting a call
// of the same tenant) goes to the buffers instead of waiting, and its
// settled difference follows it there; nothing is lost either way. A
// ticket state reused by a Limiter without statistics carries nothing over.
func TestUsageRunBusy(t *testing.T) {
	u := NewUsage(0, 100)
	l := mustNew(t, Plan{Name: "p", BaseCredits: 100, Concurrency: 5}, WithUsage(u))
	call := func(credits, actual int64) Ticket {
		tk, d := l.Acquire(t0, Request{Tenant: "o", App: "crm", Credits: credits})
		if !d.Allowed {
			t.Fatal(d.Reason)
		}
		tk.Settle(t0, actual)
		return tk
	}
	call(5, 3).Release()
	sh, h := l.mem.shard("o")
	tn := sh.get(h, "o")
	tn.runMu.Store(1) // held elsewhere
	tk := call(4, 1)
	if tk.st.ml.inRun {
		t.Fatal("a call counted in a locked run")
	}
	tk.Release()
	tn.runMu.Store(0)
	tk = call(2, 2)
	if !tk.st.ml.inRun {
		t.Fatal("a call not counted in its free run")
	}
	tk.Release()
	if s := u.Series("o", t0, t0.Add(time.Hour)); len(s) != 1 || s[0].Calls != 3 || s[0].Credits != 6 {
		t.Fatalf("series %+v, want 3 calls and 3+1+2 credits", s)
	}
	if top := u.Top("o", DimApp, t0, t0.Add(time.Hour), 5); len(top) != 1 || top[0].Credits != 6 || top[0].Calls != 3 {
		t.Fatalf("apps %+v", top)
	}

	plain := mustNew(t, Plan{Name: "p", BaseCredits: 100, Concurrency: 5})
	for range 10 { // the pooled states the calls above used
		tk, _ := plain.Acquire(t0, Request{Tenant: "o", App: "crm", Credits: 5})
		tk.Settle(t0, 1) // would push into a nil Usage if inRun were stale
		tk.Release()
	}
}

// A tenant made before its store kept runs has none: its calls go to the
// buffers, and are counted all the same.
func TestUsageRunPlainTenant(t *testing.T) {
	s := NewMemoryStore()
	p := Plan{Name: "p", BaseCredits: 100, Concurrency: 5}
	plain := mustNew(t, p, WithStore(s))
	tk, _ := plain.Acquire(t0, Request{Tenant: "old", App: "crm", Credits: 1})
	tk.Release()
	u := NewUsage(0, 100)
	l := mustNew(t, p, WithStore(s), WithUsage(u))
	for _, tenant := range []string{"old", "new", "old", "new"} {
		tk, _ := l.Acquire(t0, Request{Tenant: tenant, App: "crm", Credits: 2})
		if tk.st.ml.inRun != (tenant == "new") {
			t.Fatalf("%s: counted in a run = %v", tenant, tk.st.ml.inRun)
		}
		tk.Settle(t0, 1)
		tk.Release()
	}
	for _, tenant := range []string{"old", "new"} {
		if got := u.Series(tenant, t0, t0.Add(time.Hour)); len(got) != 1 || got[0].Calls != 2 || got[0].Credits != 2 {
			t.Fatalf("%s: %+v, want 2 calls settled to 1 credit each", tenant, got)
		}
	}
}

// A query for one tenant collects that tenant's run only; Tenants, and a
// query for OtherKey (which folds in tenants past the cap), collect all.
func TestUsageRunCollectOne(t *testing.T) {
	u := NewUsage(0, 100)
	l := mustNew(t, Plan{Name: "p", BaseCredits: 100, Concurrency: 5}, WithUsage(u))
	for _, tenant := range []string{"a", "b", "a", "b"} {
		tk, _ := l.Acquire(t0, Request{Tenant: tenant, App: "crm", Credits: 1})
		tk.Release()
	}
	pending := func(tenant string) int64 {
		sh, h := l.mem.shard(tenant)
		tn := sh.get(h, tenant)
		tn.lockRun()
		defer tn.unlockRun()
		return tn.runCalls
	}
	if got := u.Series("a", t0, t0.Add(time.Hour)); len(got) != 1 || got[0].Calls != 2 {
		t.Fatalf("a: %+v", got)
	}
	if pending("a") != 0 || pending("b") != 2 {
		t.Fatalf("after a query for a: a holds %d, b %d (want 0 and 2)", pending("a"), pending("b"))
	}
	if got := u.Top(OtherKey, DimApp, t0, t0.Add(time.Hour), 5); len(got) != 0 || pending("b") != 0 {
		t.Fatalf("a query for %q: %+v, b still holds %d", OtherKey, got, pending("b"))
	}
	if got := u.Tenants(); len(got) != 2 {
		t.Fatalf("tenants %v", got)
	}
	if got := u.Top("b", DimApp, t0, t0.Add(time.Hour), 5); len(got) != 1 || got[0].Calls != 2 {
		t.Fatalf("b: %+v", got)
	}
}
