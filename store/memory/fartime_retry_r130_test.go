package memory

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// TestR130RefusalPastHighEndRetryAfter: a credits refusal says when to
// come back: RetryAfter is 0 only when allowed (store.Decision). Past 2262
// (2600 here) the windows read now as 2262 and the credits never come
// back, but the refusal reported RetryAfter 0 (AvailableAt's 2262, less
// now, floored at 0: retry at once, for ever). (Its Reset is 2262, the
// last instant a window reports, before now: not asserted, see the
// report.)
func TestR130RefusalPastHighEndRetryAfter(t *testing.T) {
	at := time.Date(2262, 4, 11, 23, 15, 0, 0, time.UTC)
	later := time.Date(2600, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, pp := range r130Plans() {
		p := pp[0]
		plans := func(string) *store.Plan { return p }
		s := New()
		var l Lease
		var d store.Decision
		r130SpendAll(t, s, at, plans)
		s.Take(later, &store.Request{Tenant: "a", App: "x", Credits: 1}, plans, &l, &d)
		if d.Allowed {
			t.Fatalf("%s: admitted at %v", p.Name, later)
		}
		if d.RetryAfter <= 0 {
			t.Errorf("%s: refused at %v with RetryAfter %v (Reset %v); want RetryAfter > 0", p.Name, later, d.RetryAfter, d.Reset)
		}
	}
}
