package memory

import (
	"math"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// lowClampPlan has a second rolling window, so that Settle refunds through
// a window.Compound as well as into the tenant's inline pool.
var lowClampPlan = store.Plan{Name: "lc", Credits: 100, Window: time.Hour, Concurrency: 2,
	Extra: []store.WindowLimit{{Credits: 50, Window: 10 * time.Minute}}}

// TestSettleRefundNearLowClamp: a Settle's refund gives the credits back
// before 1678 and in the first window length after the low clamp
// (window.UnixNano), which TestR129FarTimeSettleRefundsItsSlot leaves out:
// admissions there are counted at the window's first frontier, one window
// length after the clamp, and the refund looked for them in their own
// slot, where nothing was charged.
func TestSettleRefundNearLowClamp(t *testing.T) {
	low := time.Unix(-(math.MaxInt64/1_000_000_000 - 1), 0) // the low clamp's second
	for _, p := range []*store.Plan{&foldPlan, &lowClampPlan} {
		plans := func(string) *store.Plan { return p }
		for _, at := range []time.Time{r129Far[0], r129Far[1], low, low.Add(5 * time.Minute), low.Add(59 * time.Minute)} {
			s := New()
			var l Lease
			var d store.Decision
			s.Take(at, &store.Request{Tenant: "a", App: "x", Credits: 5}, plans, &l, &d)
			if !d.Allowed {
				t.Fatalf("%s %v: refused: %+v", p.Name, at, d)
			}
			if st := s.Settle(at.Add(time.Second), &l, -5, false); st.Cost != -5 || st.Used != 0 {
				t.Errorf("%s %v: settle -5 gave back %d, %d still used, want -5, 0", p.Name, at, -st.Cost, st.Used)
			}
			s.Release(&l)
		}
	}
}
