package memory

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// r129Far are instants at and past the ends of what the windows hold
// whole (1677 to 2262, clamped: window.UnixNano), and some within.
var r129Far = []time.Time{
	time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
	time.Date(1677, 6, 1, 0, 0, 0, 0, time.UTC),
	time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC),
	time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC),
	time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC),
	time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
	time.Date(2600, 1, 1, 0, 0, 0, 0, time.UTC),
}

// TestR129FarTimeUsedTenantNotIdle: a tenant admitted a second ago is not
// idle under WithIdleAfter(time.Hour), at any instant. Admissions now write
// lastUsed as window.UnixNano(now) (clamped) while the sweep reads now as
// now.UnixNano() (wrapped): before 1678 and after 2262 the two disagree
// and a sweep folds a tenant just used (01f49a8 folded none).
func TestR129FarTimeUsedTenantNotIdle(t *testing.T) {
	for _, at := range r129Far {
		s := New(WithIdleAfter(time.Hour))
		var l Lease
		var d store.Decision
		for _, now := range []time.Time{at, at.Add(20 * time.Minute)} { // the second past touch: lastUsed written by admit
			s.Take(now, &store.Request{Tenant: "a", App: "x", Credits: 5}, foldPlans, &l, &d)
			if !d.Allowed {
				t.Fatalf("%v: refused: %+v", now, d)
			}
			s.Release(&l)
		}
		if n := s.Sweep(at.Add(20*time.Minute + time.Second)); n != 0 {
			t.Errorf("%v: a sweep 1s after an admission folded %d tenants, want 0 (idle after 1h)", at, n)
		}
	}
}

// TestR129FarTimeSettleRefundsItsSlot: a Settle's refund goes back to the
// slot the admission took from (lease.at, now window.UnixNano(now)), also
// past 2262, where now.UnixNano() wrapped and the refund was lost.
func TestR129FarTimeSettleRefundsItsSlot(t *testing.T) {
	for _, at := range r129Far[2:] {
		s := New()
		var l Lease
		var d store.Decision
		s.Take(at, &store.Request{Tenant: "a", App: "x", Credits: 5}, foldPlans, &l, &d)
		if !d.Allowed {
			t.Fatalf("%v: refused: %+v", at, d)
		}
		if st := s.Settle(at.Add(time.Second), &l, -5, false); st.Cost != -5 || st.Remaining != 100 {
			t.Errorf("%v: settle -5 gave back %d, %d remaining, want -5, 100", at, st.Cost, st.Remaining)
		}
		s.Release(&l)
	}
}
