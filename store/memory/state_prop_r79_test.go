package memory

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/creditgate/creditgate/internal/strhash"
	"github.com/creditgate/creditgate/store"
)

// r79Plans are the plans TestStateBitsProperty moves tenants between: the
// same shape with other caps (0, 1), another length (2), a calendar (3), a
// compound plan (4), and no classes (5). Plan 1 drops c1 and plan 0 caps it
// again; plan 4 caps c3, which no other plan does.
var r79Plans = []store.Plan{
	{Name: "p0", Credits: 100, Window: time.Hour, Concurrency: 2, SubConcurrency: map[string]int64{"c1": 1, "c2": 2}},
	{Name: "p1", Credits: 50, Window: time.Hour, Concurrency: 3, SubConcurrency: map[string]int64{"c2": 1}},
	{Name: "p2", Credits: 100, Window: 2 * time.Hour, Concurrency: 2, SubConcurrency: map[string]int64{"c1": 2}},
	{Name: "p3", Credits: 100, Window: 24 * time.Hour, Calendar: &store.Calendar{Location: time.UTC}, Concurrency: 2},
	{Name: "p4", Credits: 100, Window: time.Hour, Concurrency: 1, SubConcurrency: map[string]int64{"c1": 1, "c3": 1},
		Extra: []store.WindowLimit{{Credits: 150, Window: 2 * time.Hour}}},
	{Name: "p5", Credits: 100, Window: time.Hour, Concurrency: 2},
}

// r79Keys share prefixes and lengths: a short key, one past kpre, keys of
// 65,535 and 65,536 bytes (both held as maxKlen) and one of 1 MiB
// (MaxKeyBytes), all but the first two alike but for their length.
func r79Keys() []string {
	big := strings.Repeat("k", 1<<20)
	return []string{"org-1", "org-2-with-a-key-past-kpre-bytes", big[:maxKlen], big[:maxKlen+1], big}
}

type r79Lease struct {
	l          *Lease
	key        string
	app, class string
	capped     bool // held a class slot when admitted
}

// checkTenantState checks t's packed word against what it summarises.
func checkTenantState(t *tenant, s *Store, key string) error {
	st := t.word.Load()
	if st&stDead != 0 {
		return fmt.Errorf("tenant found in the table is dead")
	}
	if got, want := t.klen(), min(len(key), maxKlen); got != want {
		return fmt.Errorf("klen %d, want %d", got, want)
	}
	if (t.cache() != nil) != s.cache {
		return fmt.Errorf("cachedBit %v with WithSlotCache %v", t.cache() != nil, s.cache)
	}
	h := strhash.String(s.seed, key)
	if want := uint64(uint32(h)) | h&(0x7f<<tagShift); t.hash() != want {
		return fmt.Errorf("hash() %#x, want %#x", t.hash(), want)
	}
	lone := t.wins.Load() == &t.w0 && t.w0.multi == nil
	if (st&stLone != 0) != lone {
		return fmt.Errorf("stLone %v, but wins == &w0 && w0.multi == nil is %v", st&stLone != 0, lone)
	}
	first := t.app0.Load() == &t.first && !t.first.dead.Load()
	if (st&stFirst != 0) != first {
		return fmt.Errorf("stFirst %v, but app0 == &first && !first.dead is %v", st&stFirst != 0, first)
	}
	if first && (t.name0 == nil || t.first.name == nil || *t.name0 != *t.first.name) {
		return fmt.Errorf("stFirst, but name0 is not first's name %v", t.first.name)
	}
	cls0 := t.cls0e.name != nil && !t.cls0e.dead.Load()
	if (st&stCls0 != 0) != cls0 {
		return fmt.Errorf("stCls0 %v, but cls0e live is %v (name %v)", st&stCls0 != 0, cls0, t.cls0e.name)
	}
	if cls0 && (t.cls0 == nil || *t.cls0 != *t.cls0e.name) {
		return fmt.Errorf("stCls0, but cls0 is not cls0e's name %q", *t.cls0e.name)
	}
	if cls0 && t.findClass(*t.cls0e.name) != &t.cls0e {
		return fmt.Errorf("cls0e live but not its class's entry")
	}
	return nil
}

// TestStateBitsProperty runs random sequences of admissions (several
// applications, over WithMaxApps, and classes), releases, settles with
// refunds, plan changes of the same and other shapes and back, idle time
// with sweeps (folds and re-creation) and snapshots restored into a new
// store, and after each step checks every tenant's state bits (stLone,
// stFirst, stCls0), its hash bits and key length against what they
// summarise; that no admission passes a concurrency or class cap; that an
// admitted Decision's Limit and Window are the tenant's current plan's; and
// that Held is 0 once everything is released.
func TestStateBitsProperty(t *testing.T) {
	keys := r79Keys()
	apps := []string{"a", "b", "c"}
	classes := []string{"", "c1", "c2", "c3"}
	for _, cached := range []bool{false, true} {
		for seed := range uint64(4) {
			t.Run(fmt.Sprintf("cache=%v/seed=%d", cached, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 79))
				opts := []Option{WithMaxApps(2), WithIdleAfter(time.Minute)}
				if cached {
					opts = append(opts, WithSlotCache())
				}
				s := New(opts...)
				cur := map[string]int{}
				plans := func(k string) *store.Plan { return &r79Plans[cur[k]] }
				now := foldT0
				var held []r79Lease
				var free []*Lease
				count := func(key, app, class string) (nApp, nCls int) {
					for _, l := range held {
						if l.key == key && l.app == app {
							nApp++
						}
						if l.key == key && l.capped && l.class == class {
							nCls++
						}
					}
					return
				}
				drop := func(i int) r79Lease {
					l := held[i]
					held[i] = held[len(held)-1]
					held = held[:len(held)-1]
					return l
				}
				for step := range 500 {
					var what string
					switch op := rng.IntN(20); {
					case op < 9: // take
						key, app, class := keys[rng.IntN(len(keys))], apps[rng.IntN(len(apps))], classes[rng.IntN(len(classes))]
						p := plans(key)
						nApp, nCls := count(key, app, class)
						capN, capped := p.SubConcurrency[class]
						l := new(Lease)
						if len(free) > 0 && rng.IntN(2) == 0 { // a released lease, reused (Take's lease path)
							l, free = free[len(free)-1], free[:len(free)-1]
						}
						var d store.Decision
						s.Take(now, &store.Request{Tenant: key, App: app, Class: class, Credits: 1 + rng.Int64N(3)}, plans, l, &d)
						what = fmt.Sprintf("take %s/%s/%q (plan %s): %v %v", key[:min(len(key), 8)], app, class, p.Name, d.Allowed, d.Reason)
						if d.Allowed {
							if int64(nApp) >= p.Concurrency {
								t.Fatalf("step %d: %s: admitted with %d of app %s in flight, cap %d", step, what, nApp, app, p.Concurrency)
							}
							if capped && int64(nCls) >= capN {
								t.Fatalf("step %d: %s: admitted with %d of class %s in flight, cap %d", step, what, nCls, class, capN)
							}
							if d.Limit != p.Credits || d.Window != p.WindowLength() {
								t.Fatalf("step %d: %s: Limit %d Window %v, plan %s has %d, %v", step, what, d.Limit, d.Window, p.Name, p.Credits, p.WindowLength())
							}
							held = append(held, r79Lease{l, key, app, class, capped})
						}
					case op < 12 && len(held) > 0: // release
						l := drop(rng.IntN(len(held)))
						s.Release(l.l)
						free = append(free, l.l)
						what = "release"
					case op < 14 && len(held) > 0: // settle with a refund, then release
						l := drop(rng.IntN(len(held)))
						s.Settle(now, l.l, -1, false)
						s.Release(l.l)
						free = append(free, l.l)
						what = "settle -1"
					case op < 17: // plan change
						key, i := keys[rng.IntN(len(keys))], rng.IntN(len(r79Plans))
						cur[key] = i
						if err := s.SetPlan(now, key, &r79Plans[i]); err != nil {
							t.Fatal(err)
						}
						what = "SetPlan " + r79Plans[i].Name
					case op < 19: // time passes; idle tenants fold
						now = now.Add(time.Duration(rng.IntN(3)) * time.Minute)
						s.Sweep(now)
						what = "sweep"
					default: // snapshot, restored into a new store
						if len(held) > 0 {
							continue
						}
						var buf bytes.Buffer
						if err := s.SnapshotAt(now, &buf); err != nil {
							t.Fatal(err)
						}
						s, free = New(opts...), nil
						if err := s.RestoreAt(now, &buf, plans); err != nil {
							t.Fatal(err)
						}
						what = "snapshot/restore"
					}
					for _, k := range keys {
						if tt := s.lookup(k); tt != nil {
							if err := checkTenantState(tt, s, k); err != nil {
								t.Fatalf("step %d (%s): tenant %.8s: %v", step, what, k, err)
							}
						}
					}
				}
				for _, l := range held {
					s.Release(l.l)
				}
				for _, k := range keys {
					if n := s.Held(k); n != 0 {
						t.Fatalf("tenant %.8s: Held %d after every lease was released", k, n)
					}
				}
			})
		}
	}
}
