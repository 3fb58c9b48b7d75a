package memory

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// A Take or SetPlan that looked a tenant up just before a sweep folded it
// goes on with the dead tenant: admit adds its application (addApp), SetPlan
// gives it its plan (setPlan). Neither may count bytes for it, which the
// fold took out of Store.bytes for good: the count drifted (up, and a full
// store refused tenants with no memory held; down, past the bound). Called
// directly here, as the racing step would, after the fold.
func TestStaleTenantKeepsBytes(t *testing.T) {
	s := New(WithSlots(12))
	spend(t, s, foldT0, "a", 10)
	stale := s.lookup("a")
	if s.Sweep(foldT0) != 1 || s.Folded() != 1 {
		t.Fatalf("not folded: %d active, %d folded", s.Len(), s.Folded())
	}
	_ = s.addApp(stale, "y") // admit then finds the tenant dead and starts over
	bigger := foldPlan
	bigger.Extra = []store.WindowLimit{{Credits: 500, Window: 24 * time.Hour}}
	_ = s.setPlan(foldT0, stale, &bigger)
	smaller := store.Plan{Name: "s", Credits: 100, Window: time.Minute, Concurrency: 1}
	_ = s.setPlan(foldT0, stale, &smaller)
	s.Sweep(foldT0.Add(48 * time.Hour))
	if s.Len() != 0 || s.Folded() != 0 {
		t.Fatalf("%d active, %d folded", s.Len(), s.Folded())
	}
	if b := s.Bytes(); b != 0 {
		t.Fatalf("an empty store counts %d bytes", b)
	}
}

// Peek of a folded tenant whose plan changed meanwhile reports what the
// tenant has when it comes back, which is what unfold carries over (the
// shortest folded window at least as long as each new one): it read the
// folded windows by position, and reported a full pool to a tenant that
// came back with 10 credits.
func TestFoldedPeekAfterPlanChange(t *testing.T) {
	old := store.Plan{Name: "o", Credits: 100, Window: time.Hour, Concurrency: 2,
		Extra: []store.WindowLimit{{Credits: 150, Window: 24 * time.Hour}}}
	next := store.Plan{Name: "n", Credits: 100, Window: 24 * time.Hour, Concurrency: 2}
	plan := &old
	plans := func(string) *store.Plan { return plan }
	s := New(WithSlots(12))
	var l Lease
	var d store.Decision
	s.Take(foldT0, &store.Request{Tenant: "a", App: "x", Credits: 90}, plans, &l, &d)
	if !d.Allowed {
		t.Fatalf("refused: %+v", d)
	}
	s.Release(&l)
	s.Sweep(foldT0)
	plan = &next // the caller stores the plan, then SetPlan finds no tenant
	if err := s.SetPlan(foldT0, "a", plan); err != nil || s.Folded() != 1 {
		t.Fatalf("SetPlan: %v, %d folded", err, s.Folded())
	}
	at := foldT0.Add(2 * time.Hour)
	p := s.Peek(at, "a", 50, plans)
	s.Take(at, &store.Request{Tenant: "a", App: "x", Credits: 50}, plans, &l, &d)
	if p.Remaining != 10 || p.Used != 90 || p.RetryAfter == 0 || d.Allowed {
		t.Fatalf("folded peek %+v, then a take of 50: %+v", p, d)
	}
	if q := s.Peek(at, "a", 50, plans); q.Remaining != p.Remaining || q.Used != p.Used || !q.Reset.Equal(p.Reset) || q.RetryAfter != p.RetryAfter {
		t.Fatalf("folded peek %+v, unfolded %+v", p, q)
	}
}
