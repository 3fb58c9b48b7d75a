package limiter

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestAdmissionRace_r127: goroutines admitting, settling, reserving,
// refusing and releasing on shared tenants (rolling, calendar, compound,
// add-on plans) with now in five locations, while another changes plans,
// with usage and alerts on: each decision's Reset is in now's location
// with no monotonic reading, an admission with credits resets after now,
// and once all is released every tenant's every application admits its
// whole concurrency cap again (no slot leaked). Run it with -race.
func TestAdmissionRace_r127(t *testing.T) {
	u := newStats(t, 72*time.Hour, 100)
	l := mustNew(t, testPlan(), WithPlanFor(r127Plan), WithUsage(u), WithAlerts(nil, func(Alert) {}))
	tenants := []string{"r1", "c1", "x1", "a1", "r2"}
	apps := []string{"a", "b"}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	stop := make(chan struct{})
	var pw sync.WaitGroup
	pw.Add(1)
	go func() {
		defer pw.Done()
		rng := rand.New(rand.NewPCG(9, 9))
		for {
			select {
			case <-stop:
				return
			default:
			}
			tn := tenants[rng.IntN(len(tenants))]
			if err := l.SetPlanAt(t0, tn, r127Plan(tenants[rng.IntN(len(tenants))])); err != nil {
				errs <- err
				return
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 127))
			for i := range 3000 {
				at := t0.Add(time.Duration(i) * 20 * time.Millisecond).In(r127Locs[rng.IntN(len(r127Locs))])
				req := Request{Tenant: tenants[rng.IntN(len(tenants))], App: apps[rng.IntN(len(apps))],
					Credits: int64(rng.IntN(3)), Module: "m", Method: "GET"}
				var d Decision
				tk := l.AcquireTo(at, &req, &d)
				if d.Limit > 0 && d.Reset.Location() != at.Location() || d.Reset != d.Reset.Round(0) {
					errs <- fmt.Errorf("Reset %v (in %p) for now %v (in %p)", d.Reset, d.Reset.Location(), at, at.Location())
					return
				}
				if d.Allowed && d.Cost > 0 && !d.Reset.After(at) {
					errs <- fmt.Errorf("admitted %+v at %v: Reset not after now", d, at)
					return
				}
				if !d.Allowed {
					continue
				}
				switch rng.IntN(4) {
				case 0:
					tk.Settle(at, int64(rng.IntN(3)))
				case 1:
					tk.Reserve(at, 1)
				case 2:
					tk.Refuse(at, &req)
				}
				tk.Release()
			}
		}()
	}
	wg.Wait()
	close(stop)
	pw.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	later := t0.Add(100 * time.Hour)
	for _, tn := range tenants {
		for _, app := range apps {
			var held []Ticket
			p := l.PlanOf(tn)
			for range p.Concurrency {
				tk, d := l.Acquire(later, Request{Tenant: tn, App: app})
				if !d.Allowed {
					t.Fatalf("%s/%s after all released: %+v (plan %+v)", tn, app, d, p)
				}
				held = append(held, tk)
			}
			for _, tk := range held {
				tk.Release()
			}
		}
	}
}
