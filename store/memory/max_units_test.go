package memory_test

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/store/memory"
)

// A call takes at most store.MaxUnits units, whatever the cap: one of more
// is refused for concurrency with nothing taken (its weight would not fit
// the slot word's margin: see slots.MaxPairWeight), for the first
// application (slots0) and another (its own slots) alike.
func TestMaxUnits(t *testing.T) {
	s := memory.New()
	p := store.Plan{Name: "p", Credits: 100, Window: time.Hour, Concurrency: store.MaxConcurrency}
	pf := func(string) *store.Plan { return &p }
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, app := range []string{"a", "b"} {
		var l memory.Lease
		var d store.Decision
		s.Take(now, &store.Request{Tenant: "t", App: app, Credits: 1, Units: store.MaxUnits + 1}, pf, &l, &d)
		if d.Allowed || d.Reason != store.ReasonConcurrency {
			t.Fatalf("%s: %d units: %+v, want a concurrency refusal", app, store.MaxUnits+1, d)
		}
		s.Take(now, &store.Request{Tenant: "t", App: app, Credits: 1, Units: store.MaxUnits}, pf, &l, &d)
		if !d.Allowed {
			t.Fatalf("%s: %d units refused: %+v", app, store.MaxUnits, d)
		}
		if n := s.Held("t"); n != store.MaxUnits {
			t.Errorf("%s: Held %d, want %d", app, n, store.MaxUnits)
		}
		s.Release(&l)
	}
}
