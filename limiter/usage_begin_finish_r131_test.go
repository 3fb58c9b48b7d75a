package limiter

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/store/memory"
	"github.com/creditgate/creditgate/usage"
)

// r131Store is a memory store that the limiter reaches through the store
// interface (it is not a *memory.Store), and that yields in Take now and
// then: the usage statistics' Begin and Finish then have other
// admissions between them.
type r131Store struct {
	*memory.Store
	yield bool
}

func (s r131Store) Take(now time.Time, req *store.Request, plans store.PlanFunc, lease *memory.Lease, d *store.Decision) {
	if s.yield && rand.IntN(3) == 0 {
		runtime.Gosched()
	}
	s.Store.Take(now, req, plans, lease, d)
}

// r131Cell is what the model counts of one tenant in one hour.
type r131Cell struct{ credits, calls, refused int64 }

// TestUsageBeginFinishLimiter_r131: a limiter with usage statistics (and
// alerts) on, over the memory store called directly and through the store
// interface, admits, settles, refuses by body and releases on many
// goroutines, with a clock crossing an hour, refusals for credits, slots
// and a full tenant table, credits above an open run's field, and a plan
// function that panics for one tenant between Begin and Finish (when the
// store has room to create it). Every tenant's every hour counts exactly
// what the model does: a panicked admission counts nothing, and leaves
// no trace in the open run.
func TestUsageBeginFinishLimiter_r131(t *testing.T) {
	for _, direct := range []bool{true, false} {
		t.Run(fmt.Sprintf("direct=%v", direct), func(t *testing.T) {
			u := newStats(t, 48*time.Hour, 100)
			plan := func(tenant string) Plan {
				if tenant == "boom-tenant" {
					panic("plan r131")
				}
				return Plan{Name: "p", Credits: 40_000, Window: time.Minute, Concurrency: 3}
			}
			ms := memory.New(memory.WithMaxTenants(3))
			var opt Option = WithStore(ms)
			if !direct {
				opt = WithStore[memory.Lease](r131Store{Store: ms, yield: true})
			}
			var alerts atomic.Int64
			l := mustNew(t, testPlan(), opt, WithUsage(u), WithPlanFor(plan),
				WithAlerts([]int{50, 90}, func(Alert) { alerts.Add(1) }))
			if (l.mem != nil) != direct {
				t.Fatalf("on the memory store's path: %v", l.mem != nil)
			}
			tenants := []string{"alpha-tenant", "beta-tenant", "gamma", "delta-over-cap", "boom-tenant"}
			boundary := time.Date(2026, 5, 1, 11, 0, 0, 0, time.UTC)
			var clock atomic.Int64
			const workers, perWorker = 8, 4000
			models := make([]map[string]r131Cell, workers) // key: tenant and hour
			var panics atomic.Int64
			// Once first, while the store has room to create the tenant:
			// later, with three tenants in a table of three, whether it
			// gets room (and panics again) depends on the goroutines' timing.
			func() {
				defer func() {
					if recover() != nil {
						panics.Add(1)
					}
				}()
				var d Decision
				l.AcquireTo(boundary, &Request{Tenant: "boom-tenant", App: "sync", Credits: 1}, &d)
			}()
			if panics.Load() != 1 {
				t.Fatal("the plan function did not panic for a tenant the store had room for")
			}
			var wg sync.WaitGroup
			for g := range workers {
				models[g] = map[string]r131Cell{}
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(g), 1311))
					var req Request
					for i := range perWorker {
						if i == 0 || rng.IntN(10) == 0 {
							req = Request{Tenant: tenants[rng.IntN(len(tenants))], App: []string{"sync", "web"}[rng.IntN(2)],
								Module: "m", Method: "GET"}
						}
						req.Credits = rng.Int64N(4)
						if rng.IntN(100) == 0 {
							req.Credits = 20_000 // above an open run's credits field (2^14-1)
						}
						now := boundary.Add(time.Duration(clock.Add(1)/(workers*perWorker/4)-2) * time.Second)
						k := fmt.Sprint(req.Tenant, r131Hour(now))
						var tk Ticket
						var d Decision
						panicked := false
						func() {
							defer func() {
								if recover() != nil {
									panics.Add(1)
									panicked = true
								}
							}()
							tk = l.AcquireTo(now, &req, &d)
						}()
						if panicked {
							continue // counted nowhere
						}
						c := models[g][k]
						if !d.Allowed {
							c.refused++
							models[g][k] = c
							continue
						}
						c.calls++
						c.credits += d.Cost
						if rng.IntN(2) == 0 {
							runtime.Gosched() // the call
						}
						switch rng.IntN(4) {
						case 0:
							actual := rng.Int64N(5)
							tk.Settle(now, actual)
							c.credits += actual - d.Cost
							tk.Release()
						case 1:
							r := req
							tk.Refuse(now, &r)
							c.calls--
							c.refused++
							c.credits -= d.Cost
						case 2:
							tk.Refuse(now, nil) // the call stays, its credits refunded
							c.credits -= d.Cost
						default:
							tk.Release()
						}
						models[g][k] = c
					}
				})
			}
			wg.Wait()
			want := map[string]r131Cell{}
			for _, m := range models {
				for k, c := range m {
					w := want[k]
					w.credits, w.calls, w.refused = w.credits+c.credits, w.calls+c.calls, w.refused+c.refused
					want[k] = w
				}
			}
			since, until := boundary.Add(-2*time.Hour), boundary.Add(2*time.Hour)
			var refusals int64
			for _, n := range tenants {
				got := map[string]r131Cell{}
				for _, p := range u.Series(n, since, until) {
					if p.Calls != 0 || p.Credits != 0 || p.Refused != 0 {
						got[fmt.Sprint(n, p.Hour.Unix()/3600)] = r131Cell{p.Credits, p.Calls, p.Refused}
					}
				}
				for _, h := range []int64{r131Hour(boundary) - 1, r131Hour(boundary)} {
					k := fmt.Sprint(n, h)
					if got[k] != want[k] {
						t.Errorf("%s: got %+v, want %+v", k, got[k], want[k])
					}
					refusals += want[k].refused
				}
			}
			if refusals == 0 {
				t.Error("nothing refused")
			}
			for _, c := range u.TenantRows(since, until) {
				if c.Key == usage.Other {
					t.Errorf("Other has a row: %+v", c)
				}
			}
		})
	}
}

// r131Hour is the Unix hour of t.
func r131Hour(t time.Time) int64 { return t.Unix() / 3600 }

// TestUsageOnAllocs_r131: with usage statistics on (closed, so that no
// aggregator goroutine allocates during the count), an admission and its
// release allocate nothing, over the memory store's direct path, in and
// out of an open run, with alerts on and off.
func TestUsageOnAllocs_r131(t *testing.T) {
	for _, withAlerts := range []bool{false, true} {
		t.Run(fmt.Sprintf("alerts=%v", withAlerts), func(t *testing.T) {
			u := newStats(t, time.Hour, 100)
			if err := u.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			opts := []Option{WithPlanFor(r127Plan), WithUsage(u)}
			if withAlerts {
				opts = append(opts, WithAlerts([]int{1, 50}, func(Alert) {}))
			}
			l := mustNew(t, testPlan(), opts...)
			if l.mem == nil {
				t.Fatal("not on the memory store's path")
			}
			tenants := []string{"r1", "r1", "r1", "r2", "x1", "a1"}
			// A step is a round of the tenants: AllocsPerRun rounds down,
			// so an allocation on one admission of a round shows.
			step := func() {
				for _, tenant := range tenants {
					req := Request{Tenant: tenant, App: "a", Credits: 0, Module: "m", Method: "GET"}
					var d Decision
					tk := l.AcquireTo(t0, &req, &d)
					if !d.Allowed {
						t.Fatalf("refused %+v", d)
					}
					tk.Release()
				}
			}
			for range 5000 { // the tenants, their rows, the batches
				step()
			}
			if n := testing.AllocsPerRun(1000, step); n != 0 {
				t.Fatalf("%v allocations per round of %d admissions", n, len(tenants))
			}
		})
	}
}
