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
