//go:build creditgate_testhooks

package memory

import (
	"testing"

	"github.com/creditgate/creditgate/store"
)

// TestClassCapHoldsAcrossDropAndRecap: an admission finds its class's
// entry; before it takes the class's slot, SetPlan drops the class (no call
// holds it, so the entry goes) and caps it again (a new entry), and another
// admission takes the new entry's only slot. The first then took the old
// entry's slot, which nothing counts any more: two calls of a class capped
// at 1 in flight at once, after both plan changes returned. For the first
// capped class (cls0e, through stCls0) and for another (an entry of its
// own).
func TestClassCapHoldsAcrossDropAndRecap(t *testing.T) {
	for _, tc := range []struct {
		name           string
		capped, uncapp store.Plan
	}{
		{"first class", // c1 is cls0e
			store.Plan{Name: "capped", Credits: 100, Concurrency: 10, SubConcurrency: map[string]int64{"c1": 1}},
			store.Plan{Name: "uncapped", Credits: 100, Concurrency: 10}},
		{"other class", // c1 has an entry of its own; c0 is cls0e
			store.Plan{Name: "capped", Credits: 100, Concurrency: 10, SubConcurrency: map[string]int64{"c0": 5, "c1": 1}},
			store.Plan{Name: "uncapped", Credits: 100, Concurrency: 10, SubConcurrency: map[string]int64{"c0": 5}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			plans := func(string) *store.Plan { return &tc.capped }
			var l0, la, lb Lease
			var d0, da, db store.Decision
			s.Take(foldT0, &store.Request{Tenant: "k", App: "a", Credits: 1}, plans, &l0, &d0)
			s.Release(&l0)
			defer func() { classHook = nil }()
			classHook = func() {
				classHook = nil
				if err := s.SetPlan(foldT0, "k", &tc.uncapp); err != nil {
					t.Error(err)
				}
				if err := s.SetPlan(foldT0, "k", &tc.capped); err != nil {
					t.Error(err)
				}
				s.Take(foldT0, &store.Request{Tenant: "k", App: "b", Class: "c1", Credits: 1}, plans, &lb, &db)
				if !db.Allowed {
					t.Errorf("the class's only call refused: %v", db.Reason)
				}
			}
			s.Take(foldT0, &store.Request{Tenant: "k", App: "a", Class: "c1", Credits: 1}, plans, &la, &da)
			if classHook != nil {
				t.Fatal("the hook did not run")
			}
			if da.Allowed && db.Allowed {
				t.Fatalf("two calls of class c1 (cap 1) in flight after the plan capped it again (Held %d)", s.Held("k"))
			}
			if da.Allowed {
				s.Release(&la)
			}
			if db.Allowed {
				s.Release(&lb)
			}
			if n := s.Held("k"); n != 0 {
				t.Fatalf("Held %d after every call was released", n)
			}
		})
	}
}
