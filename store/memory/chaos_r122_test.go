package memory

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// TestEntriesChaosR122: admissions of several applications and classes of a
// few tenants race with plan changes that add, drop and re-add capped
// classes (a tenant created with none, so cls0e is never named), with
// application tables full of busy applications (WithMaxApps(2)) and with
// sweeps that fold idle tenants. No panic (a nil name dereferenced), never
// two calls of one application in flight (Concurrency 1), Held 0 at the end
// and Bytes back to what the tenants and records account for.
func TestEntriesChaosR122(t *testing.T) {
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprintf("cache=%v", cached), func(t *testing.T) {
			opts := []Option{WithMaxApps(2)}
			if cached {
				opts = append(opts, WithSlotCache())
			}
			s := New(opts...)
			base := store.Plan{Name: "none", Credits: store.MaxConcurrency, Window: time.Hour, Concurrency: 1}
			shapes := []store.Plan{
				base,
				{Name: "c", Credits: store.MaxConcurrency, Window: time.Hour, Concurrency: 1, SubConcurrency: map[string]int64{"c": 1}},
				{Name: "cd", Credits: store.MaxConcurrency, Window: time.Hour, Concurrency: 1, SubConcurrency: map[string]int64{"c": 1, "d": 2}},
				{Name: "d", Credits: store.MaxConcurrency, Window: time.Hour, Concurrency: 1, SubConcurrency: map[string]int64{"d": 1}},
			}
			plans := func(k string) *store.Plan {
				if k == "k1" {
					return &shapes[2]
				}
				return &base
			}
			tenants := []string{"k0", "k1", "k2"}
			apps := []string{"a", "b", "c"}
			classes := []string{"", "c", "d", "e"}
			var inflight [3][3]atomic.Int32
			var admitted atomic.Int64
			var stop atomic.Bool
			var wg sync.WaitGroup
			for g := range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(g), 1))
					var l Lease
					for range 4000 {
						ti, ai := r.IntN(len(tenants)), r.IntN(len(apps))
						var d store.Decision
						s.Take(foldT0, &store.Request{Tenant: tenants[ti], App: apps[ai], Class: classes[r.IntN(len(classes))], Credits: 1}, plans, &l, &d)
						if !d.Allowed {
							continue
						}
						admitted.Add(1)
						if v := inflight[ti][ai].Add(1); v > 1 {
							t.Errorf("%d calls of %s/%s in flight, cap 1", v, tenants[ti], apps[ai])
						}
						inflight[ti][ai].Add(-1)
						s.Release(&l)
					}
				}()
			}
			var bg sync.WaitGroup
			bg.Add(2)
			go func() {
				defer bg.Done()
				r := rand.New(rand.NewPCG(99, 1))
				for !stop.Load() {
					if err := s.SetPlan(foldT0, tenants[r.IntN(len(tenants))], &shapes[r.IntN(len(shapes))]); err != nil {
						t.Error(err)
						return
					}
				}
			}()
			go func() {
				defer bg.Done()
				for !stop.Load() {
					s.Sweep(foldT0)
				}
			}()
			wg.Wait()
			stop.Store(true)
			bg.Wait()
			for _, k := range tenants {
				if n := s.Held(k); n != 0 {
					t.Errorf("%s: Held %d after every call was released", k, n)
				}
			}
			t.Logf("admitted %d, evicted %d", admitted.Load(), s.Evicted())
			if admitted.Load() == 0 {
				t.Fatal("nothing admitted")
			}
			var want int64
			for i := range s.shards {
				sh := &s.shards[i]
				for key, rec := range sh.folded {
					want += recordCost(key, rec)
				}
			}
			for _, k := range tenants {
				if tn := s.lookup(k); tn != nil && !tn.dead() {
					if c := tenantCost(tn); c != tn.cost {
						t.Errorf("%s: cost %d counted, tenantCost says %d", k, tn.cost, c)
					}
					want += int64(tn.cost)
				}
			}
			if got := s.Bytes(); got != want {
				t.Errorf("Bytes %d, want %d (tenants' costs and folded records)", got, want)
			}
		})
	}
}
