//go:build creditgate_testhooks

package memory

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// TestResetForgetBetweenWalkAndCache: an admission walks the windows, a
// refund lands and forgets the cached reset, then the admission caches its
// walk, which predates the refund. The refund moved a compound plan's
// binding window from the pool (back in an hour) to the extra window (back
// in seconds), so the cached instant is an hour late, and a later
// admission reported it until it passed. With other: another admission
// caches its own walk, before the refund, in between (the forget then
// finds an instant, not what the first admission loaded).
func TestResetForgetBetweenWalkAndCache(t *testing.T) {
	for _, other := range []bool{false, true} {
		name := "alone"
		if other {
			name = "other"
		}
		t.Run(name, func(t *testing.T) {
			s := New()
			p := compoundR75(10)
			plans := func(string) *store.Plan { return p }
			var l1, l2, l3, l4, l5 Lease
			takeR75(t, s, foldT0, 5, p, &l1)
			now := foldT0.Add(11 * time.Second) // the extra window's 5 are back
			takeR75(t, s, now, 3, p, &l2)       // 2 left in each: the pool's later reset binds
			s.Settle(now, &l2, -1, true)        // 3 left in each: forgotten
			now = now.Add(time.Second)
			resetHook = func() { // the admission below has walked: the pool binds
				resetHook = nil
				if other {
					takeR75(t, s, now, 1, p, &l5)
				}
				s.Settle(now, &l1, -5, true) // 5 back into the pool only: the extra window binds
			}
			defer func() { resetHook = nil }()
			takeR75(t, s, now, 1, p, &l3)
			now = now.Add(time.Second)
			d, walked := nextR75(t, s, now, p, &l4)
			pk := s.Peek(now, "k", 0, plans)
			if !d.Reset.Equal(walked) || !pk.Reset.Equal(walked) {
				t.Fatalf("after the refund, the admission's Reset is %v, Peek's %v, walked %v", d.Reset, pk.Reset, walked)
			}
		})
	}
}

// TestResetForgetSetPlanBetweenWalkAndCache: as above, with the pool's
// limit lowered in place (SetPlan, same shape) between the walk and the
// swap: the extra window bound when the admission walked (back in
// seconds), the lowered pool binds after (back in an hour).
func TestResetForgetSetPlanBetweenWalkAndCache(t *testing.T) {
	s := New()
	p := compoundR75(100)
	var l1, l2, l3 Lease
	takeR75(t, s, foldT0, 3, p, &l1)                  // the extra window binds: 2 left
	if err := s.SetPlan(foldT0, "k", p); err != nil { // in place, unchanged: forgotten
		t.Fatal(err)
	}
	lowered := compoundR75(5)
	now := foldT0.Add(time.Second)
	resetHook = func() { // the admission below has walked: the extra window binds
		resetHook = nil
		if err := s.SetPlan(now, "k", lowered); err != nil { // 1 left in each: the pool's later reset binds
			t.Error(err)
		}
	}
	defer func() { resetHook = nil }()
	takeR75(t, s, now, 1, p, &l2)
	d, walked := nextR75(t, s, now.Add(time.Second), lowered, &l3)
	if !d.Reset.Equal(walked) {
		t.Fatalf("after lowering the pool, the admission's Reset is %v, walked %v", d.Reset, walked)
	}
}

// nextR75 checks that the admission before walked the windows (resetHook
// ran), then admits 1 credit at now and returns its decision and the
// windows' ResetAt walked at now.
func nextR75(t *testing.T, s *Store, now time.Time, p *store.Plan, l *Lease) (store.Decision, time.Time) {
	t.Helper()
	if resetHook != nil {
		t.Fatal("the admission did not walk the windows")
	}
	d := takeR75(t, s, now, 1, p, l)
	return d, s.lookup("k").wins.Load().all().ResetAt(now)
}
