package memory

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// TestSetPlanRacesMultiAdmissions (held on 9d32383: admit's own TakeAt on
// w.multi.all): admissions racing with plan changes that replace compound
// and calendar windows (the replacingReset mark, takeAgain) are all
// counted: with no time passing, no more than the pool is admitted, and the
// windows in place at the end count at least every admitted credit.
func TestSetPlanRacesMultiAdmissions(t *testing.T) {
	const pool = 20_000
	cal := &store.Calendar{Location: time.UTC}
	shapes := []store.Plan{
		{Name: "compound", Credits: pool, Window: time.Hour, Concurrency: 1000,
			Extra: []store.WindowLimit{{Credits: pool, Window: 2 * time.Hour}}},
		{Name: "calendar", Credits: pool, Window: 24 * time.Hour, Calendar: cal, Concurrency: 1000},
		{Name: "both", Credits: pool, Window: 24 * time.Hour, Calendar: cal, Concurrency: 1000,
			Extra: []store.WindowLimit{{Credits: pool, Window: 48 * time.Hour}}},
		{Name: "rolling", Credits: pool, Window: time.Hour, Concurrency: 1000},
	}
	s := New()
	plans := func(string) *store.Plan { return &shapes[0] }
	var admitted, changes atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	var l0 Lease
	var d0 store.Decision
	s.Take(foldT0, &store.Request{Tenant: "org", App: "a"}, plans, &l0, &d0) // the tenant, nothing spent
	s.Release(&l0)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; !stop.Load(); i++ {
			if err := s.SetPlan(foldT0, "org", &shapes[i%len(shapes)]); err != nil {
				t.Error(err)
				return
			}
			changes.Add(1)
		}
	}()
	for changes.Load() < 10 {
		runtime.Gosched()
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var l Lease
			for !stop.Load() {
				var d store.Decision
				s.Take(foldT0, &store.Request{Tenant: "org", App: "a", Credits: 1}, plans, &l, &d)
				if d.Allowed {
					admitted.Add(1)
					s.Release(&l)
				} else if d.Reason == store.ReasonCredits {
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(3 * time.Second)
	for s.Peek(foldT0, "org", 0, plans).Remaining > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	n := admitted.Load()
	t.Logf("%d admitted across %d plan changes", n, changes.Load())
	if n > pool {
		t.Fatalf("admitted %d calls from a pool of %d with no time passing", n, pool)
	}
	if used := s.Peek(foldT0, "org", 0, plans).Used; used < n {
		t.Fatalf("the windows count %d spent for %d admitted", used, n)
	}
}
