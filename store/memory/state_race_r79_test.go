package memory

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// TestFirstAppDroppedRace (held on 400265c): admissions of a tenant's first
// application race with admissions of others that fill its application
// table (WithMaxApps(1)), so that the first is dropped whenever it is idle
// and comes back as a new entry (stFirst cleared before the drop's check).
// No admission counts on a dropped entry: at most one call of each
// application (Concurrency 1) is in flight at once, and Held is 0 at the
// end.
func TestFirstAppDroppedRace(t *testing.T) {
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprintf("cache=%v", cached), func(t *testing.T) {
			opts := []Option{WithMaxApps(1)}
			if cached {
				opts = append(opts, WithSlotCache())
			}
			s := New(opts...)
			p := &store.Plan{Name: "p", Credits: store.MaxConcurrency, Window: time.Hour, Concurrency: 1,
				SubConcurrency: map[string]int64{"c": 1}}
			plans := func(string) *store.Plan { return p }
			var inflight [3]atomic.Int32
			var cls atomic.Int32
			var admitted atomic.Int64
			var wg sync.WaitGroup
			for g, app := range []string{"a", "a", "a", "b", "c"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					i := int(app[0] - 'a')
					var l Lease
					for n := range 3000 {
						class := ""
						if n%2 == g%2 {
							class = "c"
						}
						var d store.Decision
						s.Take(foldT0, &store.Request{Tenant: "k", App: app, Class: class, Credits: 1}, plans, &l, &d)
						if !d.Allowed {
							continue
						}
						admitted.Add(1)
						if v := inflight[i].Add(1); v > 1 {
							t.Errorf("%d calls of app %s in flight, cap 1", v, app)
						}
						if class != "" {
							if v := cls.Add(1); v > 1 {
								t.Errorf("%d calls of class c in flight, cap 1", v)
							}
							cls.Add(-1)
						}
						inflight[i].Add(-1)
						s.Release(&l)
					}
				}()
			}
			wg.Wait()
			if n := s.Held("k"); n != 0 {
				t.Fatalf("Held %d after every call was released", n)
			}
			if admitted.Load() == 0 {
				t.Fatal("nothing admitted")
			}
		})
	}
}

// TestSetPlanShapeRaceDecision (held on 400265c): while admissions race
// with plan changes between shapes (a lone rolling pool, another length, a
// calendar, a compound plan) and back, an admission made after SetPlan
// returned reports the new plan's Limit and Window, whether the tenant
// still had its lone pool (stLone) when the race began or not.
func TestSetPlanShapeRaceDecision(t *testing.T) {
	cal := &store.Calendar{Location: time.UTC}
	shapes := []store.Plan{
		{Name: "rolling", Credits: 1_000_000, Window: time.Hour, Concurrency: 1000},
		{Name: "longer", Credits: 1_000_001, Window: 2 * time.Hour, Concurrency: 1000},
		{Name: "calendar", Credits: 1_000_002, Window: 24 * time.Hour, Calendar: cal, Concurrency: 1000},
		{Name: "compound", Credits: 1_000_003, Window: 3 * time.Hour, Concurrency: 1000,
			Extra: []store.WindowLimit{{Credits: 2_000_000, Window: 4 * time.Hour}}},
		{Name: "rolling again", Credits: 1_000_004, Window: time.Hour, Concurrency: 1000},
	}
	s := New()
	plans := func(string) *store.Plan { return &shapes[0] }
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var l Lease
			for !stop.Load() {
				var d store.Decision
				s.Take(foldT0, &store.Request{Tenant: "k", App: "a", Credits: 1}, plans, &l, &d)
				if d.Allowed {
					s.Release(&l)
				}
			}
		}()
	}
	var l Lease
	for i := range 2000 {
		p := &shapes[i%len(shapes)]
		if err := s.SetPlan(foldT0, "k", p); err != nil {
			t.Fatal(err)
		}
		var d store.Decision
		s.Take(foldT0, &store.Request{Tenant: "k", App: "a", Credits: 1}, plans, &l, &d)
		if !d.Allowed {
			t.Fatalf("refused under %s: %v", p.Name, d.Reason)
		}
		s.Release(&l)
		if d.Limit != p.Credits || d.Window != p.WindowLength() {
			t.Fatalf("change %d to %s: Limit %d, Window %v; want %d, %v", i, p.Name, d.Limit, d.Window, p.Credits, p.WindowLength())
		}
	}
	stop.Store(true)
	wg.Wait()
	if n := s.Held("k"); n != 0 {
		t.Fatalf("Held %d after every call was released", n)
	}
}
