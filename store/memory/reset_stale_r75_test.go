package memory

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// compoundR75 is a pool of 10 an hour with an extra window of 5 per 10 s.
func compoundR75(credits int64) *store.Plan {
	return &store.Plan{Name: "x", Credits: credits, Window: time.Hour, Concurrency: 4,
		Extra: []store.WindowLimit{{Credits: 5, Window: 10 * time.Second}}}
}

// takeR75 admits n credits of tenant k at now with lease l and releases it.
func takeR75(t *testing.T, s *Store, now time.Time, n int64, p *store.Plan, l *Lease) store.Decision {
	t.Helper()
	var d store.Decision
	s.Take(now, &store.Request{Tenant: "k", App: "a", Credits: n}, func(string) *store.Plan { return p }, l, &d)
	if !d.Allowed {
		t.Fatalf("take of %d at %v refused: %+v", n, now, d)
	}
	s.Release(l)
	return d
}

// TestResetAfterRefundNotLate: a refund can move a compound plan's binding
// window, and then the reset an earlier admission cached is not the
// windows' any more. Here the pool binds (1 left of 10, back in an hour),
// a refund of 5 into the pool (the extra window's slot has gone) leaves the
// extra window binding (1 left of 5, back in 10 s), and the next admission
// reported the pool's hour, late, while Peek at the same instant reports
// the extra window's seconds (tenant.go's reset comment: "a refund can
// make it early, never late").
func TestResetAfterRefundNotLate(t *testing.T) {
	s := New()
	p := compoundR75(10)
	var l1, l2, l3 Lease
	takeR75(t, s, foldT0, 5, p, &l1)
	now := foldT0.Add(11 * time.Second) // the extra window's 5 are back
	if d := takeR75(t, s, now, 4, p, &l2); d.Reset.Sub(now) < 30*time.Minute {
		t.Fatalf("pool binds after 9 of 10: Reset %v, want about an hour on", d.Reset)
	}
	s.Settle(now, &l1, -5, true) // 5 back into the pool only
	now = now.Add(time.Second)
	d := takeR75(t, s, now, 1, p, &l3)
	pk := s.Peek(now, "k", 0, func(string) *store.Plan { return p })
	if !d.Reset.Equal(pk.Reset) {
		t.Fatalf("after the refund, the admission's Reset is %v, Peek's at the same instant %v", d.Reset, pk.Reset)
	}
}

// TestResetAfterSetPlanInPlace: a plan change that only lowers the pool
// (SetLimit in place, same windows) can make the pool bind; the reset
// cached while the extra window bound was then still reported.
func TestResetAfterSetPlanInPlace(t *testing.T) {
	s := New()
	var l Lease
	takeR75(t, s, foldT0, 3, compoundR75(100), &l) // the extra window binds: 2 left
	lowered := compoundR75(4)
	if err := s.SetPlan(foldT0, "k", lowered); err != nil {
		t.Fatal(err)
	}
	now := foldT0.Add(time.Second)
	d := takeR75(t, s, now, 1, lowered, &l) // both at 0: the pool's later reset binds
	pk := s.Peek(now, "k", 0, func(string) *store.Plan { return lowered })
	if !d.Reset.Equal(pk.Reset) {
		t.Fatalf("after lowering the pool, the admission's Reset is %v, Peek's at the same instant %v", d.Reset, pk.Reset)
	}
}
