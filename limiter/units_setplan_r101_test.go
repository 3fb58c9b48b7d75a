package limiter

import (
	"testing"

	"github.com/creditgate/creditgate/store/memory"
)

// Calls of several units held across a SetPlan that lowers the cap below
// them, then raises it: every unit comes back on Release (the first
// application's, in the Pair, and another's, in its own Slots), none is
// admitted past the cap meanwhile, with or without the slot cache, and a
// second Release of a ticket gives nothing back twice.
func TestUnitsAcrossSetPlan_r101(t *testing.T) {
	for _, opts := range [][]memory.Option{nil, {memory.WithSlotCache()}} {
		p := Plan{Name: "p", Credits: 1000, Concurrency: 5, SubConcurrency: map[string]int64{"complex": 2}}
		l := mustNew(t, p, withMem(opts...))
		for _, app := range []string{"a", "b"} {
			comp := Request{Tenant: "t", App: app, Class: "complex", Credits: 1, Units: 5}
			one := Request{Tenant: "t", App: app, Credits: 1}
			tk, d := l.Acquire(t0, comp)
			if !d.Allowed {
				t.Fatalf("%s: 5 units of 5 refused: %+v", app, d)
			}
			low := p
			low.Concurrency = 3
			if err := l.SetPlan("t", low); err != nil {
				t.Fatal(err)
			}
			if _, d := l.Acquire(t0, one); d.Allowed {
				t.Fatalf("%s: a unit admitted with 5 held over a cap of 3", app)
			}
			tk.Release()
			tk.Release() // a second Release gives nothing back
			var tks []Ticket
			for i := range 3 {
				tk, d := l.Acquire(t0, one)
				if !d.Allowed {
					t.Fatalf("%s: unit %d of 3 refused after the release: %+v", app, i+1, d)
				}
				tks = append(tks, tk)
			}
			if _, d := l.Acquire(t0, one); d.Allowed {
				t.Fatalf("%s: a 4th unit admitted under a cap of 3 (a unit given back twice?)", app)
			}
			for _, tk := range tks {
				tk.Release()
			}
			if err := l.SetPlan("t", p); err != nil {
				t.Fatal(err)
			}
			tk, d = l.Acquire(t0, comp)
			if !d.Allowed {
				t.Fatalf("%s: 5 units refused once all came back: %+v", app, d)
			}
			if _, d := l.Acquire(t0, one); d.Allowed {
				t.Fatalf("%s: a 6th unit admitted", app)
			}
			tk.Release()
		}
	}
}
