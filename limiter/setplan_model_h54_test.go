package limiter

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store/memory"
)

// planModel is one tenant's side of the reference: its plan's caps and pool,
// the slots its applications and classes hold and the credits it spent
// (nothing comes back within the test's window).
type planModel struct {
	conc, sub, limit int64
	apps, classes    map[string]int64
	spent            int64
}

// TestSetPlanModel: the model test of Acquire, Release and Settle, with
// SetPlan lowering and raising a tenant's concurrency, its bulk class's cap
// and its pool midway while tickets are held, with and without the slot
// cache. A lowered cap refuses until the slots in use are under it; a
// lowered pool keeps what is spent; nothing is admitted that the model
// refuses, nor refused that it admits, and at the end nothing is held.
func TestSetPlanModel(t *testing.T) {
	for _, cached := range []bool{false, true} {
		for seed := uint64(1); seed <= 25; seed++ {
			rng := rand.New(rand.NewPCG(seed, 54))
			base := Plan{Name: "m", Credits: 60, Concurrency: 3, SubConcurrency: map[string]int64{"bulk": 2}}
			opts := []memory.Option{memory.WithSlots(24)}
			if cached {
				opts = append(opts, memory.WithSlotCache())
			}
			l := mustNew(t, base, withMem(opts...))
			ms := map[string]*planModel{}
			for _, tn := range []string{"x", "y"} {
				ms[tn] = &planModel{conc: 3, sub: 2, limit: 60, apps: map[string]int64{}, classes: map[string]int64{}}
			}
			var live []*modelTicket
			now := t0
			for step := 0; step < 500; step++ {
				now = now.Add(time.Duration(rng.IntN(3)) * time.Second)
				switch op := rng.IntN(12); {
				case op < 6:
					tenant := []string{"x", "y"}[rng.IntN(2)]
					app := []string{"a", "b", "c"}[rng.IntN(3)]
					class := []string{"", "bulk", "uncapped"}[rng.IntN(3)]
					n := int64(rng.IntN(8))
					m := ms[tenant]
					var tk Ticket
					var d Decision
					ran(t, func() { tk, d = l.Acquire(now, Request{Tenant: tenant, App: app, Class: class, Credits: n}) })
					want := ReasonNone
					switch {
					case m.apps[app] >= m.conc:
						want = ReasonConcurrency
					case class == "bulk" && m.sub > 0 && m.classes["bulk"] >= m.sub:
						want = ReasonSubConcurrency
					case n > 0 && m.limit-m.spent < n:
						want = ReasonCredits
					}
					if d.Reason != want || d.Allowed != (want == ReasonNone) {
						t.Fatalf("cache %v seed %d step %d: %s/%s/%q %d credits: %+v; model (apps %v classes %v conc %d sub %d spent %d/%d) says %v",
							cached, seed, step, tenant, app, class, n, d, m.apps, m.classes, m.conc, m.sub, m.spent, m.limit, want)
					}
					if d.Allowed {
						m.apps[app]++
						took := class
						if class == "bulk" && m.sub > 0 {
							m.classes["bulk"]++
						} else if class == "bulk" {
							took = "bulk-uncapped" // took no class slot
						}
						m.spent += n
						live = append(live, &modelTicket{tk: tk, tenant: tenant, app: app, class: took, credits: n})
					}
				case op < 9 && len(live) > 0:
					i := rng.IntN(len(live))
					mt := live[i]
					ran(t, func() { mt.tk.Release() })
					m := ms[mt.tenant]
					m.apps[mt.app]--
					if mt.class == "bulk" {
						m.classes["bulk"]--
					}
					live = append(live[:i], live[i+1:]...)
				case op < 10 && len(live) > 0:
					mt := live[rng.IntN(len(live))]
					actual := int64(rng.IntN(10))
					ran(t, func() { mt.tk.Settle(now, actual) })
					if !mt.settled {
						mt.settled = true
						m := ms[mt.tenant]
						delta := actual - mt.credits
						if delta > 0 {
							delta = min(delta, max(m.limit-m.spent, 0))
						}
						m.spent += delta
					}
				default:
					tenant := []string{"x", "y"}[rng.IntN(2)]
					m := ms[tenant]
					p := base.Clone()
					p.Concurrency = 1 + rng.Int64N(4)
					p.SubConcurrency = map[string]int64{"bulk": 1 + rng.Int64N(3)}
					if rng.IntN(4) == 0 {
						p.SubConcurrency = nil // the class uncapped, with calls in flight
					}
					p.Credits = []int64{10, 30, 60, 90}[rng.IntN(4)]
					var err error
					ran(t, func() { err = l.SetPlanAt(now, tenant, p) })
					if err != nil {
						t.Fatal(err)
					}
					m.conc, m.sub, m.limit = p.Concurrency, p.SubConcurrency["bulk"], p.Credits
					if m.sub == 0 {
						// Calls in flight keep the slots they took; a cap
						// set again later counts those still held (the
						// model's class count is kept, not cleared).
					}
				}
				for _, tenant := range []string{"x", "y"} {
					m := ms[tenant]
					if d := l.Peek(now, tenant); d.Remaining != max(m.limit-m.spent, 0) {
						t.Fatalf("cache %v seed %d step %d %s: remaining %d, model %d of %d", cached, seed, step, tenant, d.Remaining, m.limit-m.spent, m.limit)
					}
				}
			}
			for _, mt := range live {
				mt.tk.Release()
			}
			assertNoSlotsHeld(t, l)
		}
	}
}

// ran runs f on a goroutine of its own, so that with the slot cache calls
// come from several stripes.
func ran(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	<-done
}
