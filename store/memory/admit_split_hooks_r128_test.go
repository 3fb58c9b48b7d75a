//go:build creditgate_testhooks

package memory

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// TestFoldDuringAdmissionR128: an admission passes admit's test (the
// common kind, admit's fast path; or any other, admitAny, whose hook runs
// in slotsAny before the slots' take); before it takes its slots, a sweep
// folds the tenant, idle then, and keeps its record (one credit of two
// spent). The admission must see stDead once it holds its slots, give them
// back and start over on the tenant rebuilt from the record: admitted with
// the second credit, and a third call refused. Admitted on the dead
// tenant, its credit would be spent where nothing reads it (a third call
// admitted) and its slots held on an object the table no longer has.
func TestFoldDuringAdmissionR128(t *testing.T) {
	rolling, compound := pathPlans(2, 10)
	for _, tc := range []struct {
		name string
		plan *store.Plan
		req  store.Request
		held int64
	}{
		{"fast", &rolling, store.Request{App: "a"}, 1},
		{"fast first class", &rolling, store.Request{App: "a", Class: "bulk"}, 2},
		{"units=2", &rolling, store.Request{App: "a", Units: 2}, 2},
		{"other class", &rolling, store.Request{App: "a", Class: "q"}, 2},
		{"other app", &rolling, store.Request{App: "b"}, 1},
		{"compound", &compound, store.Request{App: "a"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			plans := func(string) *store.Plan { return tc.plan }
			var l Lease
			var d store.Decision
			// a is the tenant's first application (t.first), b another.
			s.Take(foldT0, &store.Request{Tenant: "k", App: "a"}, plans, &l, &d)
			s.Release(&l)
			req := tc.req
			req.Tenant, req.Credits = "k", 1
			s.Take(foldT0, &req, plans, &l, &d)
			if !d.Allowed {
				t.Fatalf("first call refused: %v", d.Reason)
			}
			s.Release(&l)
			defer func() { classHook = nil }()
			classHook = func() {
				classHook = nil
				if n := s.Sweep(foldT0); n != 1 {
					t.Errorf("sweep folded %d tenants, want 1", n)
				}
			}
			s.Take(foldT0, &req, plans, &l, &d)
			if classHook != nil {
				t.Fatal("the hook did not run")
			}
			if !d.Allowed {
				t.Fatalf("second call refused: %v (one credit of two spent)", d.Reason)
			}
			if n := s.Held("k"); n != tc.held {
				t.Errorf("Held %d with one call in flight, want %d", n, tc.held)
			}
			s.Release(&l)
			if n := s.Held("k"); n != 0 {
				t.Errorf("Held %d after every call was released", n)
			}
			var d3 store.Decision
			var l3 Lease
			s.Take(foldT0, &req, plans, &l3, &d3)
			if d3.Allowed {
				t.Fatalf("a third credit admitted from a pool of 2 (Remaining %d, Used %d)", d3.Remaining, d3.Used)
			}
			if d3.Reason != store.ReasonCredits {
				t.Fatalf("third call refused for %v, want credits", d3.Reason)
			}
		})
	}
}

// TestSetPlanDuringFastAdmissionR128: an admission of the common kind
// passes its test (a lone rolling pool); before it takes its slot and
// credit, SetPlan gives the tenant windows of another length (new
// windows: the old ones are marked and their spends carried). The
// admission's take from the old pool is after the carry: it must take
// again from the new windows (takeAgain), and report them. Pool 2, then
// 3: one credit before, the hooked one, then one more is all that fits.
func TestSetPlanDuringFastAdmissionR128(t *testing.T) {
	s := New()
	p1 := store.Plan{Name: "p1", Credits: 2, Window: time.Hour, Concurrency: 4}
	p2 := store.Plan{Name: "p2", Credits: 3, Window: 2 * time.Hour, Concurrency: 4}
	cur := &p1
	plans := func(string) *store.Plan { return cur }
	var l Lease
	var d store.Decision
	req := store.Request{Tenant: "k", App: "a", Credits: 1}
	s.Take(foldT0, &req, plans, &l, &d)
	if !d.Allowed {
		t.Fatalf("first call refused: %v", d.Reason)
	}
	s.Release(&l)
	defer func() { classHook = nil }()
	classHook = func() {
		classHook = nil
		cur = &p2
		if err := s.SetPlan(foldT0, "k", &p2); err != nil {
			t.Error(err)
		}
	}
	s.Take(foldT0, &req, plans, &l, &d)
	if classHook != nil {
		t.Fatal("the hook did not run")
	}
	if !d.Allowed {
		t.Fatalf("second call refused: %v", d.Reason)
	}
	if d.Limit != 3 || d.Window != 2*time.Hour || d.Remaining != 1 || d.Used != 2 {
		t.Errorf("second call: Limit %d, Window %v, Remaining %d, Used %d; want the new pool's 3, 2h, 1, 2",
			d.Limit, d.Window, d.Remaining, d.Used)
	}
	s.Release(&l)
	s.Take(foldT0, &req, plans, &l, &d)
	if !d.Allowed {
		t.Fatalf("third call refused: %v (two of three spent)", d.Reason)
	}
	s.Release(&l)
	s.Take(foldT0, &req, plans, &l, &d)
	if d.Allowed {
		t.Fatalf("a fourth credit admitted from a pool of 3 (Remaining %d, Used %d)", d.Remaining, d.Used)
	}
	if n := s.Held("k"); n != 0 {
		t.Errorf("Held %d after every call was released", n)
	}
}

// TestFirstAppDroppedDuringAdmission: an admission of a tenant's first
// application passes admit's test; before it takes its slots, another
// application's admission, with the table full (WithMaxApps(1)) and the
// first one idle, drops the first entry and takes the table's only place,
// which it keeps. The first admission then took slots of a dead entry: it
// must find the entry dead, give the slots back and look again, and be
// refused for concurrency (the table is full of a busy application), with
// nothing held but b's. On both paths: admit's own (one unit, no class or
// the first capped one, a lone pool: it must see stFirst cleared and the
// entry dead), and admitAny's (slotsAny picks &t.first by stFirst and its
// name; its hook runs after the entries are found): of two units, of a
// class that is not the first capped one, under a compound plan.
func TestFirstAppDroppedDuringAdmission(t *testing.T) {
	rolling, compound := pathPlans(100, 1000)
	for _, tc := range []struct {
		name  string
		plan  *store.Plan
		req   store.Request
		other int64 // what b's call holds besides its unit: its class's slot
	}{
		{"fast", &rolling, store.Request{}, 0},
		{"fast first class", &rolling, store.Request{Class: "bulk"}, 1},
		{"units=2", &rolling, store.Request{Units: 2}, 0},
		{"other class", &rolling, store.Request{Class: "q"}, 1},
		{"compound", &compound, store.Request{}, 0},
		{"compound first class", &compound, store.Request{Class: "bulk"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(WithMaxApps(1))
			plans := func(string) *store.Plan { return tc.plan }
			ra := tc.req
			ra.Tenant, ra.App, ra.Credits = "k", "a", 1
			rb := ra
			rb.App, rb.Units = "b", 1
			var l0, la, lb Lease
			var d0, da, db store.Decision
			s.Take(foldT0, &ra, plans, &l0, &d0)
			if !d0.Allowed {
				t.Fatalf("first call refused: %v", d0.Reason)
			}
			s.Release(&l0)
			defer func() { classHook = nil }()
			classHook = func() {
				classHook = nil
				s.Take(foldT0, &rb, plans, &lb, &db)
				if !db.Allowed {
					t.Errorf("application b refused: %v", db.Reason)
				}
			}
			s.Take(foldT0, &ra, plans, &la, &da)
			if classHook != nil {
				t.Fatal("the hook did not run")
			}
			if da.Allowed {
				t.Fatalf("application a admitted while b holds the table's only entry (Held %d)", s.Held("k"))
			}
			if da.Reason != store.ReasonConcurrency {
				t.Fatalf("application a refused for %v, want concurrency", da.Reason)
			}
			if n, want := s.Held("k"), 1+tc.other; n != want {
				t.Fatalf("Held %d with b's one call in flight, want %d", n, want)
			}
			s.Release(&lb)
			if n := s.Held("k"); n != 0 {
				t.Fatalf("Held %d after every call was released", n)
			}
		})
	}
}

// pathPlans returns the plans these tests run each admission under: a lone
// rolling pool of credits an hour (admit's path for one unit of the first
// application, and no class or the first capped one) and the same with a
// day's window of extra credits beside it (a compound plan: admitAny's),
// each with a concurrency cap of 2 and classes bulk and q capped at 2.
func pathPlans(credits, extra int64) (rolling, compound store.Plan) {
	sub := map[string]int64{"bulk": 2, "q": 2}
	rolling = store.Plan{Name: "p", Credits: credits, Window: time.Hour, Concurrency: 2, SubConcurrency: sub}
	compound = rolling
	compound.Name, compound.Extra = "c", []store.WindowLimit{{Credits: extra, Window: 24 * time.Hour}}
	return rolling, compound
}
