//go:build creditgate_testhooks

package memory

import (
	"fmt"
	"testing"
	"time"
)

// Two creators find the store full at once; the first folds every idle
// tenant, and the second's sweep, landing just after, must not read "nothing
// idle" as "no room is coming" and hold sweeps off for sweepBackoff: tenants
// that turn idle within that second must make room for new ones.
func TestSweepAfterAnotherSweep(t *testing.T) {
	const idle = 100 * time.Millisecond
	s := New(WithMaxTenants(4), WithIdleAfter(idle), WithSlots(12))
	for i := range 4 {
		if d := spend(t, s, foldT0, fmt.Sprint("a", i), 1); !d.Allowed {
			t.Fatalf("a%d refused: %+v", i, d)
		}
	}
	at := foldT0.Add(2 * idle) // a0..a3 idle, the store full
	roomHook = func() {
		roomHook = nil
		if n := s.Sweep(at); n != 4 { // the other creator's sweep
			t.Errorf("the other sweep folded %d, want 4", n)
		}
	}
	defer func() { roomHook = nil }()
	for i := range 4 { // the store full again, with tenants busy at at
		if d := spend(t, s, at, fmt.Sprint("b", i), 1); !d.Allowed {
			t.Fatalf("b%d refused: %+v", i, d)
		}
	}
	later := at.Add(2 * idle) // b0..b3 idle; within sweepBackoff of at
	if d := spend(t, s, later, "c", 1); !d.Allowed {
		t.Fatalf("c refused %v after b0..b3 went idle: %+v", later.Sub(at), d)
	}
}
