package memory

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// Guard: admissions of the common kind (stAddOns) race with SetPlans that
// flip the add-ons (same shape: in place); every admission reports 0 or
// 50, and one started after a SetPlan returned reports that plan's.
func TestAddOnsRaceSetPlan_r112(t *testing.T) {
	s := New()
	now := time.Unix(1_700_000_000, 0)
	with := &store.Plan{Name: "w", Credits: 1 << 30, Window: time.Hour, Concurrency: 64, AddOns: 50}
	none := &store.Plan{Name: "n", Credits: 1 << 30, Window: time.Hour, Concurrency: 64}
	pf := func(string) *store.Plan { return none }
	take := func() store.Decision {
		var l Lease
		var d store.Decision
		s.Take(now, &store.Request{Tenant: "t", App: "a", Credits: 1}, pf, &l, &d)
		if d.Allowed {
			s.Release(&l)
		}
		return d
	}
	take()
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if d := take(); !d.Allowed || d.AddOns != 0 && d.AddOns != 50 {
					t.Errorf("racing admission: %+v", d)
					return
				}
			}
		}()
	}
	for i := range 2000 {
		p := none
		if i%2 == 0 {
			p = with
		}
		if err := s.SetPlan(now, "t", p); err != nil {
			t.Fatal(err)
		}
		if d := take(); d.AddOns != p.AddOns {
			t.Errorf("after SetPlan to add-ons %d: %+v", p.AddOns, d)
			break
		}
	}
	stop.Store(true)
	wg.Wait()
}
