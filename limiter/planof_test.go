package limiter

import "testing"

// PlanOf answers what Plan answers (SetPlan's plan, else WithPlanFor's, else
// New's), without a copy: the middleware reads it per request.
func TestPlanOf(t *testing.T) {
	def := Plan{Name: "def", Credits: 100, Concurrency: 2}
	custom := Plan{Name: "custom", Credits: 50, Concurrency: 3, SubConcurrency: map[string]int64{"bulk": 1}}
	l := mustNew(t, def, WithPlanFor(func(tenant string) Plan {
		if tenant == "c" {
			return custom
		}
		return def
	}))
	if err := l.SetPlanAt(t0, "s", Plan{Name: "set", Credits: 10, Concurrency: 1}); err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []string{"", "c", "s"} {
		if got, want := l.PlanOf(tenant).Name, l.Plan(tenant).Name; got != want {
			t.Errorf("PlanOf(%q) is %q, Plan %q", tenant, got, want)
		}
		if n := testing.AllocsPerRun(10, func() { _ = l.PlanOf(tenant) }); n != 0 {
			t.Errorf("PlanOf(%q): %v allocations", tenant, n)
		}
	}
	if l.PlanOf("c").SubConcurrency["bulk"] != 1 {
		t.Errorf("PlanOf(c): %+v", l.PlanOf("c"))
	}
}

// AddOns answers 0 until a plan with add-on credits is given (New,
// SetPlan) or resolved (WithPlanFor), then each tenant's own; plans that
// differ only in their add-ons stay apart.
func TestAddOns(t *testing.T) {
	def := Plan{Name: "p", Credits: 100, Concurrency: 2}
	withAddOns := def
	withAddOns.AddOns = 40
	l := mustNew(t, def, WithPlanFor(func(tenant string) Plan {
		if tenant == "a" {
			return withAddOns
		}
		return def
	}))
	if n := l.AddOns("b"); n != 0 {
		t.Fatalf("AddOns(b) = %d before any add-ons", n)
	}
	if n := l.PlanOf("a").AddOns; n != 40 {
		t.Fatalf("PlanOf(a).AddOns = %d", n)
	}
	if a, b := l.AddOns("a"), l.AddOns("b"); a != 40 || b != 0 {
		t.Fatalf("AddOns: a %d, b %d; want 40, 0", a, b)
	}
	if err := l.SetPlanAt(t0, "s", Plan{Name: "p", Credits: 100, Concurrency: 2, AddOns: 7}); err != nil {
		t.Fatal(err)
	}
	if n := l.AddOns("s"); n != 7 {
		t.Fatalf("AddOns(s) = %d after SetPlan", n)
	}
	l2 := mustNew(t, withAddOns)
	if n := l2.AddOns("x"); n != 40 {
		t.Fatalf("New's plan: AddOns = %d", n)
	}
	if n := testing.AllocsPerRun(10, func() { _ = l.AddOns("a") }); n != 0 {
		t.Errorf("AddOns: %v allocations", n)
	}
}
