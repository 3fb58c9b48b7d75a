package memory

import (
	"math"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// TestR130SweepBeforeLowEndKeepsRecords: a folded tenant's record is
// dropped once all its credits are back. A sweep at an instant before
// 1678 (a clock stepped back: the windows read it as 1677-09-21 00:12:44)
// compared the records' return instants with now.UnixNano(), which wraps
// there (1600 reads as 2184), dropped a record whose credits were still
// out, and the tenant came back with a full pool.
func TestR130SweepBeforeLowEndKeepsRecords(t *testing.T) {
	low := time.Unix(-(math.MaxInt64/1_000_000_000 - 1), 0)
	at := low.Add(10 * time.Minute)
	for _, pp := range r130Plans() {
		p := pp[0]
		plans := func(string) *store.Plan { return p }
		s := New(WithIdleAfter(time.Minute))
		var l Lease
		var d store.Decision
		r130SpendAll(t, s, at, plans)
		if n := s.Sweep(at.Add(2 * time.Minute)); n != 1 {
			t.Fatalf("%s: sweep folded %d, want 1", p.Name, n)
		}
		old := time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)
		s.Sweep(old)
		s.Take(at.Add(3*time.Minute), &store.Request{Tenant: "a", App: "x", Credits: 1}, plans, &l, &d)
		if d.Allowed {
			t.Errorf("%s: admitted at %v after a sweep at %v, %d remaining; want refused (100 spent at %v)", p.Name, at.Add(3*time.Minute), old, d.Remaining, at)
			s.Release(&l)
		}
	}
}
