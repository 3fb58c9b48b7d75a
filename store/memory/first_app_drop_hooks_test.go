//go:build creditgate_testhooks

package memory

import (
	"testing"

	"github.com/creditgate/creditgate/store"
)

// TestFirstAppDroppedDuringAdmission: an admission of a tenant's first
// application passes admit's common-case test (stFirst set, the name
// matches); before it takes its slots, another application's admission,
// with the table full (WithMaxApps(1)) and the first one idle, drops the
// first entry and takes the table's only place, which it keeps. The first
// admission then took slots of a dead entry: it must see stFirst cleared,
// find the entry dead, give the slots back and look again, and be refused
// (the table is full of a busy application), not admitted on the dead
// entry. Both Held and a later admission of the live application must
// count only what is in flight.
func TestFirstAppDroppedDuringAdmission(t *testing.T) {
	for _, class := range []string{"", "bulk"} {
		t.Run("class="+class, func(t *testing.T) {
			s := New(WithMaxApps(1))
			p := store.Plan{Name: "p", Credits: 100, Concurrency: 2, SubConcurrency: map[string]int64{"bulk": 2}}
			plans := func(string) *store.Plan { return &p }
			var l0, la, lb Lease
			var d0, da, db store.Decision
			s.Take(foldT0, &store.Request{Tenant: "k", App: "a", Class: class, Credits: 1}, plans, &l0, &d0)
			if !d0.Allowed {
				t.Fatalf("first call refused: %v", d0.Reason)
			}
			s.Release(&l0)
			defer func() { classHook = nil }()
			classHook = func() {
				classHook = nil
				s.Take(foldT0, &store.Request{Tenant: "k", App: "b", Class: class, Credits: 1}, plans, &lb, &db)
				if !db.Allowed {
					t.Errorf("application b refused: %v", db.Reason)
				}
			}
			s.Take(foldT0, &store.Request{Tenant: "k", App: "a", Class: class, Credits: 1}, plans, &la, &da)
			if classHook != nil {
				t.Fatal("the hook did not run")
			}
			if da.Allowed {
				t.Fatalf("application a admitted while b holds the table's only entry (Held %d)", s.Held("k"))
			}
			if da.Reason != store.ReasonConcurrency {
				t.Fatalf("application a refused for %v, want concurrency", da.Reason)
			}
			want := int64(1) // b's call: one unit of its application
			if class != "" {
				want++ // and one of its capped class
			}
			if n := s.Held("k"); n != want {
				t.Fatalf("Held %d with b's one call in flight, want %d", n, want)
			}
			s.Release(&lb)
			if n := s.Held("k"); n != 0 {
				t.Fatalf("Held %d after every call was released", n)
			}
		})
	}
}
