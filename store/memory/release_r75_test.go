package memory

import (
	"fmt"
	"testing"

	"github.com/creditgate/creditgate/store"
)

// heldAllR75 counts every slot t's admissions hold: slots0's halves (less
// any cached), the applications' own and the classes' own, dropped classes
// included (Held leaves those out).
func heldAllR75(s *Store, key string) int64 {
	t := s.lookup(key)
	if t == nil {
		return 0
	}
	a, b := t.pairHeld()
	n := a + b
	ct := t.classTab()
	for _, tab := range [][]*semEntry{t.appTable().entries, ct.entries, ct.dropped} {
		for _, e := range tab {
			if sem := e.sem(); sem != nil {
				n += sem.Held()
			}
		}
	}
	return n
}

// TestReleaseReturnsEverySlot (7a323df's shortcut and releaseSlots): with
// and without a slot cache, leases of the first application and of one with
// its own slots, uncapped, in the first capped class (slots0's B) and in
// one with its own slots, are released, alone, all at once, a zero lease
// too, and across plan changes that lower the caps and drop the classes:
// nothing stays held, and the caps admit exactly their size again.
func TestReleaseReturnsEverySlot(t *testing.T) {
	capped := store.Plan{Name: "p", Credits: 1000, Concurrency: 2,
		SubConcurrency: map[string]int64{"bulk": 1, "query": 1}}
	lowered := store.Plan{Name: "q", Credits: 1000, Concurrency: 1}
	type call struct{ app, class string }
	calls := []call{{"a", ""}, {"a", "bulk"}, {"a", "query"}, {"b", ""}, {"b", "bulk"}, {"b", "query"}}
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprint("cache=", cached), func(t *testing.T) {
			var opts []Option
			if cached {
				opts = append(opts, WithSlotCache())
			}
			s := New(opts...)
			plan := capped
			plans := func(string) *store.Plan { return &plan }
			take := func(c call, l *Lease) {
				t.Helper()
				var d store.Decision
				s.Take(foldT0, &store.Request{Tenant: "k", App: c.app, Class: c.class, Credits: 1}, plans, l, &d)
				if !d.Allowed {
					t.Fatalf("%+v refused: %+v", c, d)
				}
			}
			check := func(when string) {
				t.Helper()
				if h, all := s.Held("k"), heldAllR75(s, "k"); h != 0 || all != 0 {
					t.Fatalf("%s: Held %d, all slots %d, want 0", when, h, all)
				}
			}
			s.Release(&Lease{}) // a zero lease holds nothing
			var l Lease
			for i, c := range calls { // one at a time, on one lease
				take(c, &l)
				s.Release(&l)
				check(fmt.Sprint("after call ", i))
			}
			ls := make([]Lease, 2)
			take(calls[1], &ls[0]) // a, bulk: slots0's A and B
			take(calls[5], &ls[1]) // b, query: both of its own
			if err := s.SetPlan(foldT0, "k", &lowered); err != nil {
				t.Fatal(err)
			}
			if err := s.SetPlan(foldT0, "k", &capped); err != nil {
				t.Fatal(err)
			}
			if err := s.SetPlan(foldT0, "k", &lowered); err != nil {
				t.Fatal(err)
			}
			for i := range ls {
				s.Release(&ls[i])
			}
			check("after plan changes")
			if err := s.SetPlan(foldT0, "k", &capped); err != nil {
				t.Fatal(err)
			}
			// The caps admit their size again: 2 per application, 1 per class.
			for _, app := range []string{"a", "b"} {
				ls := make([]Lease, 3)
				for i := range ls {
					var d store.Decision
					s.Take(foldT0, &store.Request{Tenant: "k", App: app, Credits: 1}, plans, &ls[i], &d)
					if d.Allowed != (i < 2) {
						t.Fatalf("app %s call %d: Allowed %v under a cap of 2", app, i, d.Allowed)
					}
				}
				s.Release(&ls[0])
				s.Release(&ls[1])
			}
			for _, class := range []string{"bulk", "query"} {
				ls := make([]Lease, 2)
				for i := range ls {
					var d store.Decision
					s.Take(foldT0, &store.Request{Tenant: "k", App: calls[3*i].app, Class: class, Credits: 1}, plans, &ls[i], &d)
					if d.Allowed != (i < 1) {
						t.Fatalf("class %s call %d: Allowed %v under a cap of 1", class, i, d.Allowed)
					}
				}
				s.Release(&ls[0])
			}
			check("at the end")
		})
	}
}
