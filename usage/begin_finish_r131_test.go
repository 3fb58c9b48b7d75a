package usage

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
)

// r131Cell is what the model counts of one tenant in one hour.
type r131Cell struct{ credits, calls, refused int64 }

// TestBeginFinishExact_r131: many goroutines Begin, yield (the store's
// decision), and Finish, over a few tenants (below the cap: no folds) and
// shapes of keys sharing strings, so that runs open, fill and close; with
// Begin's second on either side of an hour boundary (so that the run of
// one hour is met by a decision of the next), credits of 0 to above a
// run's field, refusals, buffers shared between goroutines, and flushes
// and queue-full self-aggregation (the Stats closed: no drainer)
// meanwhile. Every tenant's every hour counts exactly what the model does.
func TestBeginFinishExact_r131(t *testing.T) {
	for _, drainer := range []bool{false, true} {
		t.Run(fmt.Sprintf("drainer=%v", drainer), func(t *testing.T) {
			u := newStats(t, 48*time.Hour, 100)
			if !drainer {
				if err := u.Close(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			tenants := []string{"alpha-tenant", "beta-tenant", "gamma", Other}
			apps := []string{"sync", "web"}
			boundary := time.Date(2026, 5, 1, 11, 0, 0, 0, time.UTC).Unix()
			const workers, perWorker = 8, 20_000
			models := make([]map[[2]int64]r131Cell, workers) // key: tenant index, hour
			var stop atomic.Bool
			var wg sync.WaitGroup
			wg.Go(func() {
				for !stop.Load() {
					u.flush()
					runtime.Gosched()
				}
			})
			var work sync.WaitGroup
			for g := range workers {
				models[g] = map[[2]int64]r131Cell{}
				work.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(g), 131))
					var req store.Request
					for i := range perWorker {
						if i == 0 || rng.IntN(20) == 0 {
							req = store.Request{Tenant: tenants[rng.IntN(len(tenants))], App: apps[rng.IntN(len(apps))],
								Module: "m", Method: "GET"}
						}
						sec := boundary - 2 + rng.Int64N(4)
						credits := rng.Int64N(4)
						switch rng.IntN(200) {
						case 0:
							credits = creditsMax
						case 1:
							credits = creditsMax + 1
						case 2:
							credits = 1 << 40
						}
						refused := rng.IntN(10) == 0
						buf := uint64(rng.IntN(3)) << 32
						r := u.Begin(buf, sec, &req)
						if rng.IntN(3) == 0 {
							runtime.Gosched()
						}
						u.Finish(r, &req, credits, refused)
						ti := int64(0)
						for j, n := range tenants {
							if n == req.Tenant {
								ti = int64(j)
							}
						}
						k := [2]int64{ti, hourOfSec(sec)}
						c := models[g][k]
						if refused {
							c.refused++
						} else {
							c.calls++
							c.credits += credits
						}
						models[g][k] = c
					}
				})
			}
			work.Wait()
			stop.Store(true)
			wg.Wait()
			want := map[[2]int64]r131Cell{}
			for _, m := range models {
				for k, c := range m {
					w := want[k]
					w.credits, w.calls, w.refused = w.credits+c.credits, w.calls+c.calls, w.refused+c.refused
					want[k] = w
				}
			}
			since, until := time.Unix(boundary-7200, 0), time.Unix(boundary+7200, 0)
			for ti, n := range tenants {
				got := map[int64]r131Cell{}
				for _, p := range u.Series(n, since, until) {
					if p.Calls != 0 || p.Credits != 0 || p.Refused != 0 {
						got[p.Hour.Unix()/3600] = r131Cell{p.Credits, p.Calls, p.Refused}
					}
				}
				for _, h := range []int64{boundary/3600 - 1, boundary / 3600} {
					if w := want[[2]int64{int64(ti), h}]; got[h] != w {
						t.Errorf("%s hour %d: got %+v, want %+v", n, h, got[h], w)
					}
				}
			}
		})
	}
}

// TestFinishReportsWhereItCounted_r131: whatever the filter does between
// Begin and Finish (the cap reached, the filter set anew after a prune),
// Finish reports folded exactly when it counted the decision under Other,
// on the open run's path and the locked one: a limiter names Other in the
// call's settles on that report, so a report that disagreed with the row
// would put a settle in another row than its call.
func TestFinishReportsWhereItCounted_r131(t *testing.T) {
	u := newStats(t, 0, 100)
	if err := u.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	names := make([]string, DefaultTenants+1) // the last folds: Other is kept, the filter full
	for i := range names {
		names[i] = fmt.Sprintf("tenant-%06d", i)
		u.Record(Event{At: t0, Tenant: names[i], App: "a", Credits: 1})
	}
	u.flush()
	if !u.filter.full.Load() {
		t.Fatal("the cap is not reached")
	}
	stranger := "stranger-0001"
	if !u.filter.folds(stranger) {
		t.Skip("the filter passes the stranger")
	}
	sec := t0.Unix()
	req := store.Request{Tenant: stranger, App: "a", Method: "GET"}
	sh := u.shardOf(0)
	lastTenant := func() string {
		sh.lock()
		defer sh.mu.Unlock()
		return sh.buf[len(sh.buf)-1].tenant
	}
	for round := range 40 {
		u.flush() // the round's events alone in the buffer: it never hands a batch over
		inRun := round%2 == 0
		if inRun { // a burst: the run opens on the folded tenants' event
			for range 4 {
				u.RecordRequest(0, time.Unix(sec, 0), &req, 1, false)
			}
		} else {
			sh.lock() // closed
			sh.mu.Unlock()
		}
		r := u.Begin(0, sec, &req)
		if (r.w != 0) != inRun {
			t.Fatalf("round %d: Begin in the run %v, want %v", round, r.w != 0, inRun)
		}
		// The filter changes under the decision: set anew, not full.
		u.mu.Lock()
		u.filter.full.Store(false)
		u.mu.Unlock()
		folded := u.Finish(r, &req, 1, false)
		if got := lastTenant(); folded != (got == Other) {
			t.Fatalf("round %d (in a run %v): Finish reported folded %v, counted under %q", round, inRun, folded, got)
		}
		u.filter.full.Store(true)
		// And the other way: not folded at Begin, full before Finish.
		u.filter.full.Store(false)
		r = u.Begin(0, sec, &req)
		u.filter.full.Store(true)
		folded = u.Finish(r, &req, 1, false)
		if got := lastTenant(); folded != (got == Other) {
			t.Fatalf("round %d: Finish reported folded %v, counted under %q", round, folded, got)
		}
	}
}

// TestBeginFinishSettleSameRow_r131: past the tenant cap, with the hour
// moving on (prunes drop tenants and set the filter anew) and flushes
// meanwhile, goroutines Begin, yield, Finish each call, then settle it to
// zero under the tenant Finish reports (Other if folded), into the call's
// buffer and hour, as a limiter does. A settle that landed in another row
// than its call would leave one row's credits below zero and another's
// above: every row of every hour kept must count zero credits, and the
// calls and refusals of the hours kept must add up to the model's.
func TestBeginFinishSettleSameRow_r131(t *testing.T) {
	u := newStats(t, 2*time.Hour, 100)
	names := make([]string, 3*DefaultTenants)
	for i := range names {
		names[i] = fmt.Sprintf("tenant-%06d", i)
	}
	base := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC).Unix()
	var clock atomic.Int64 // seconds since base
	var nfold, nrun atomic.Int64
	const workers, perWorker = 6, 15_000
	type cell struct{ calls, refused int64 }
	models := make([]map[int64]cell, workers) // by hour
	var stop atomic.Bool
	var bg sync.WaitGroup
	bg.Go(func() {
		for !stop.Load() {
			u.flush()
			runtime.Gosched()
		}
	})
	var wg sync.WaitGroup
	for g := range workers {
		models[g] = map[int64]cell{}
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1310))
			var req store.Request
			for i := range perWorker {
				if rng.IntN(3) == 0 {
					clock.Add(1) // about 8 hours in all
				}
				if i == 0 || rng.IntN(2) == 0 {
					req = store.Request{Tenant: names[rng.IntN(len(names))], App: "sync", Method: "GET"}
				}
				sec := base + clock.Load()
				credits := 1 + rng.Int64N(5)
				refused := rng.IntN(10) == 0
				buf := uint64(rng.IntN(4)) << 32
				r := u.Begin(buf, sec, &req)
				if rng.IntN(3) == 0 {
					runtime.Gosched()
				}
				folded := u.Finish(r, &req, credits, refused)
				if folded {
					nfold.Add(1)
				}
				if r.w != 0 {
					nrun.Add(1)
				}
				c := models[g][hourOfSec(sec)]
				if refused {
					c.refused++
				} else {
					c.calls++
					tenant := req.Tenant
					if folded {
						tenant = Other
					}
					if rng.IntN(2) == 0 {
						runtime.Gosched()
					}
					u.SettleIn(buf, time.Unix(sec, 0), tenant, req.App, -credits)
				}
				models[g][hourOfSec(sec)] = c
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	bg.Wait()
	last := hourOfSec(base + clock.Load())
	if nfold.Load() == 0 || nrun.Load() == 0 || last-hourOfSec(base) < 4 {
		t.Fatalf("%d folded, %d begun in an open run, %d hours: the test missed a path", nfold.Load(), nrun.Load(), last-hourOfSec(base))
	}
	for h := last - 1; h <= last; h++ {
		at := time.Unix(h*3600, 0)
		var want cell
		for _, m := range models {
			want.calls += m[h].calls
			want.refused += m[h].refused
		}
		var got cell
		for _, c := range u.TenantRows(at, at.Add(time.Hour)) {
			if c.Credits != 0 {
				t.Errorf("hour %d: %s's row counts %d credits, settled to none", h, c.Key, c.Credits)
			}
			got.calls += c.Calls
			got.refused += c.Refused
		}
		if got != want {
			t.Errorf("hour %d: %+v, want %+v", h, got, want)
		}
	}
}
