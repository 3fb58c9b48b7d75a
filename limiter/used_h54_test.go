package limiter

import (
	"testing"
	"time"
)

// Decision.Used is what the pool has spent, also when a plan change left
// more spent than the new pool: a refused request and a Peek say so as an
// admitted one does (and as alerts and usage headers read it), not the
// new pool's size.
func TestUsedOverLoweredPool(t *testing.T) {
	for _, cal := range []*Calendar{nil, {Location: time.UTC}} {
		p := Plan{Name: "big", Credits: 100, Concurrency: 5, Calendar: cal}
		l := mustNew(t, p)
		tk, d := l.Acquire(t0, Request{Tenant: "x", App: "a", Credits: 80})
		if !d.Allowed {
			t.Fatalf("refused: %+v", d)
		}
		tk.Release()
		small := p
		small.Name, small.Credits = "small", 30
		if err := l.SetPlanAt(t0, "x", small); err != nil {
			t.Fatal(err)
		}
		tk, admitted := l.Acquire(t0, Request{Tenant: "x", App: "a", Credits: 0})
		tk.Release()
		_, refused := l.Acquire(t0, Request{Tenant: "x", App: "a", Credits: 1})
		peek := l.Peek(t0, "x")
		for _, c := range []struct {
			name string
			d    Decision
		}{{"admitted (0 credits)", admitted}, {"refused", refused}, {"peek", peek}} {
			if c.d.Used != 80 || c.d.Limit != 30 || c.d.Remaining != 0 {
				t.Errorf("calendar %v: %s: Used %d, Limit %d, Remaining %d; want 80 spent of a pool of 30, 0 left", cal != nil, c.name, c.d.Used, c.d.Limit, c.d.Remaining)
			}
		}
	}
}
