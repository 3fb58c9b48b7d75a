package limiter

import (
	"fmt"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store/memory"
)

// TestAdmissionAllocs_r127: Acquire, AcquireTo, Settle and Release
// allocate nothing once the tenants exist, with alerts on and off, over the default store and WithStore(memory.New()),
// for tenants alternating on one ticket state (the lease's cached Reset
// missing and hitting) of rolling, calendar and compound plans, with now in
// UTC, Local and a loaded zone. (With usage statistics on, AllocsPerRun
// counts the aggregator goroutine's allocations too, so they are left out:
// a heap profile of the same steps shows none in acquire but usage's own
// batches.)
func TestAdmissionAllocs_r127(t *testing.T) {
	tenants := []string{"r1", "c1", "x1", "a1", "r2"}
	for _, withStore := range []bool{false, true} {
		for _, withUsage := range []bool{false} {
			for _, withAlerts := range []bool{false, true} {
				name := fmt.Sprintf("store=%v,usage=%v,alerts=%v", withStore, withUsage, withAlerts)
				t.Run(name, func(t *testing.T) {
					opts := []Option{WithPlanFor(r127Plan)}
					if withStore {
						opts = append(opts, WithStore[memory.Lease](memory.New()))
					}
					if withUsage {
						opts = append(opts, WithUsage(newStats(t, time.Hour, 100)))
					}
					if withAlerts {
						opts = append(opts, WithAlerts([]int{1, 50}, func(Alert) {}))
					}
					l := mustNew(t, testPlan(), opts...)
					if l.mem == nil {
						t.Fatal("not on the memory store's path")
					}
					now := t0
					i := 0
					step := func() {
						now = now.Add(3 * time.Second)
						at := now.In(r127Locs[i%len(r127Locs)])
						req := Request{Tenant: tenants[i%len(tenants)], App: "a", Credits: 1, Module: "m", Method: "GET"}
						i++
						var d Decision
						tk := l.AcquireTo(at, &req, &d)
						if !d.Allowed {
							t.Fatalf("refused %+v", d)
						}
						tk.Settle(at, 0)
						tk.Release()
						tk2, d2 := l.Acquire(at, req)
						if !d2.Allowed {
							t.Fatalf("refused %+v", d2)
						}
						tk2.Settle(at, 0)
						tk2.Release()
					}
					for range 50 { // the tenants, their applications, usage rows
						step()
					}
					if n := testing.AllocsPerRun(500, step); n != 0 {
						t.Fatalf("%v allocations per step", n)
					}
				})
			}
		}
	}
}
