package memory

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// A tenant whose only call in flight holds a slot of a class its plan has
// since dropped is busy (the call's application slot says so): a sweep does
// not fold it, which would forget the slot, and a plan that caps the class
// again counts the call.
func TestSweepKeepsDroppedClassSlots(t *testing.T) {
	for _, class := range []string{"a", "zz"} { // cls0e's, and an entry of its own
		capped := store.Plan{Name: "c", Credits: 100, Window: time.Hour, Concurrency: 5,
			SubConcurrency: map[string]int64{"a": 1, "zz": 1}}
		plans := func(string) *store.Plan { return &capped }
		s := New()
		var l Lease
		var d store.Decision
		s.Take(foldT0, &store.Request{Tenant: "t", App: "x", Class: class, Credits: 1}, plans, &l, &d)
		if !d.Allowed {
			t.Fatalf("%s: refused: %+v", class, d)
		}
		open := capped.Clone()
		open.Name = "open"
		delete(open.SubConcurrency, class)
		if err := s.SetPlan(foldT0, "t", &open); err != nil {
			t.Fatal(err)
		}
		s.Sweep(foldT0.Add(time.Minute))
		if s.Folded() != 0 || s.Len() != 1 {
			t.Fatalf("%s: a tenant with a call in flight was folded: %d active, %d folded", class, s.Len(), s.Folded())
		}
		if err := s.SetPlan(foldT0, "t", &capped); err != nil {
			t.Fatal(err)
		}
		var l2 Lease
		s.Take(foldT0.Add(time.Minute), &store.Request{Tenant: "t", App: "y", Class: class, Credits: 1}, plans, &l2, &d)
		if d.Allowed {
			s.Release(&l2)
			t.Fatalf("%s: a second call admitted under a cap of 1: %+v", class, d)
		}
		s.Release(&l)
	}
}
