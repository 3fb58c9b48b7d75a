package memory

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// TestSettleRefundPastEndsCalendar: a Settle's refund into a calendar
// window gives the credits back at any instant, also before 1678 and after
// 2262, where the lease's admission time (window.UnixNano, clamped) and the
// period's bounds read the same second and the refund found it outside the
// period (see window.Fixed.periodOf).
func TestSettleRefundPastEndsCalendar(t *testing.T) {
	for _, period := range []time.Duration{time.Hour, 24 * time.Hour} {
		p := &store.Plan{Name: "cal", Credits: 100, Window: period, Concurrency: 2,
			Calendar: &store.Calendar{Location: time.UTC}}
		plans := func(string) *store.Plan { return p }
		for _, at := range r129Far {
			s := New()
			var l Lease
			var d store.Decision
			s.Take(at, &store.Request{Tenant: "a", App: "x", Credits: 5}, plans, &l, &d)
			if !d.Allowed {
				t.Fatalf("%v %v: refused: %+v", period, at, d)
			}
			if st := s.Settle(at.Add(time.Second), &l, -5, false); st.Cost != -5 || st.Used != 0 {
				t.Errorf("%v %v: settle -5 gave back %d, %d still used, want -5, 0", period, at, -st.Cost, st.Used)
			}
			s.Release(&l)
		}
	}
}
