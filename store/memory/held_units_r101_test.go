package memory_test

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/store/memory"
)

// Held counts an admission's units of its application's cap, and one slot
// of its capped class (its doc said one for each admission before Units).
func TestHeldCountsUnits_r101(t *testing.T) {
	s := memory.New()
	p := store.Plan{Name: "p", Credits: 100, Window: time.Hour, Concurrency: 5, SubConcurrency: map[string]int64{"complex": 2}}
	pf := func(string) *store.Plan { return &p }
	var l memory.Lease
	var d store.Decision
	s.Take(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), &store.Request{Tenant: "t", App: "a", Class: "complex", Credits: 1, Units: 5}, pf, &l, &d)
	if !d.Allowed {
		t.Fatalf("refused: %+v", d)
	}
	if n := s.Held("t"); n != 6 {
		t.Errorf("Held %d for a call of 5 units in a capped class, want 6", n)
	}
	s.Release(&l)
	if n := s.Held("t"); n != 0 {
		t.Errorf("Held %d after the release", n)
	}
}
