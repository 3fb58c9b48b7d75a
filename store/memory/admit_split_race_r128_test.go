package memory

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// TestAdmitSplitRaceR128: admissions of one tenant's first application (the
// fast path of admit: one unit, no class or its first capped one, a lone
// rolling pool) and of others (admitAny: more units, other classes, other
// applications, a compound or calendar pool) race with SetPlan moving the
// tenant between rolling, other-length rolling, compound and calendar
// pools (same pool credits, same caps), with sweeps that fold it, and with
// a full application table (WithMaxApps(2)) that drops the first
// application. The clock stands still, so no credit comes back: the
// credits admitted (net of Keep, which only holds more back) never pass the
// pool's limit; no application holds more units than its cap; the capped
// class no more than its; Held is 0 once all are released.
func TestAdmitSplitRaceR128(t *testing.T) {
	const credits = 1500
	for _, opt := range []string{"plain", "cache", "apps2"} {
		t.Run(opt, func(t *testing.T) {
			var opts []Option
			switch opt {
			case "cache":
				opts = append(opts, WithSlotCache())
			case "apps2":
				opts = append(opts, WithMaxApps(2))
			}
			s := New(opts...)
			sub := map[string]int64{"bulk": 1, "q": 2}
			shapes := []store.Plan{
				{Name: "roll", Credits: credits, Window: time.Hour, Concurrency: 2, SubConcurrency: sub},
				{Name: "roll2", Credits: credits, Window: 2 * time.Hour, Concurrency: 2, SubConcurrency: sub},
				{Name: "compound", Credits: credits, Window: time.Hour, Concurrency: 2, SubConcurrency: sub,
					Extra: []store.WindowLimit{{Credits: 10 * credits, Window: 24 * time.Hour}}},
				{Name: "calendar", Credits: credits, Window: 24 * time.Hour, Concurrency: 2, SubConcurrency: sub,
					Calendar: &store.Calendar{Location: time.UTC}},
			}
			for i := range shapes {
				if err := shapes[i].Validate(); err != nil {
					t.Fatal(err)
				}
			}
			var cur atomic.Int32
			plans := func(string) *store.Plan { return &shapes[cur.Load()] }
			apps := []string{"a", "b", "c"}
			classes := []string{"", "", "bulk", "q", "x"}
			var inflight [3]atomic.Int64
			var bulk atomic.Int64
			var spent, admitted atomic.Int64
			var stop atomic.Bool
			var wg sync.WaitGroup
			for g := range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(g), 7))
					var l Lease
					for range 3000 {
						ai := 0
						if r.IntN(3) == 0 {
							ai = r.IntN(len(apps))
						}
						req := store.Request{Tenant: "k", App: apps[ai], Credits: int64(r.IntN(3))}
						if r.IntN(2) == 0 {
							req.Class = classes[r.IntN(len(classes))]
						}
						if r.IntN(4) == 0 {
							req.Units = 2
						}
						if r.IntN(8) == 0 {
							req.Keep = int64(r.IntN(50))
						}
						var d store.Decision
						s.Take(foldT0, &req, plans, &l, &d)
						if !d.Allowed {
							continue
						}
						admitted.Add(1)
						spent.Add(req.Credits)
						u := max(req.Units, 1)
						if v := inflight[ai].Add(u); v > 2 {
							t.Errorf("%d units of %s in flight, cap 2", v, apps[ai])
						}
						if req.Class == "bulk" {
							if v := bulk.Add(1); v > 1 {
								t.Errorf("%d bulk calls in flight, cap 1", v)
							}
							bulk.Add(-1)
						}
						inflight[ai].Add(-u)
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
					i := int32(r.IntN(len(shapes)))
					cur.Store(i)
					if err := s.SetPlan(foldT0, "k", &shapes[i]); err != nil {
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
			if n := s.Held("k"); n != 0 {
				t.Errorf("Held %d after every call was released", n)
			}
			t.Logf("admitted %d, %d credits, evicted %d", admitted.Load(), spent.Load(), s.Evicted())
			if admitted.Load() == 0 {
				t.Fatal("nothing admitted")
			}
			if n := spent.Load(); n > credits {
				t.Errorf("%d credits admitted at one instant, pool %d", n, credits)
			}
		})
	}
}
