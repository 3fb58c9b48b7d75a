package usage

import (
	"fmt"
	"testing"
	"time"
)

// Helper-61: a refusal lands where its call did. With DefaultTenants kept,
// a call of a new tenant at the hour's turn counts as Other's; the next
// event of the hour prunes the tenants of the hour that left the
// retention, and the call's refusal, aggregated after it, found room and
// made the tenant a row of its own: -1 call, a refusal and minus its
// credits there, while Other kept the call and its credits.
func TestRefuseLandsWhereTheCallDid(t *testing.T) {
	// With a Reserve, the limiter settles 3 more by application after the
	// prune, then 3 less with the refusal.
	for _, reserved := range []bool{false, true} {
		t.Run(fmt.Sprint("reserved=", reserved), func(t *testing.T) {
			u := newStats(t, time.Hour, 10) // one hour kept
			t1 := t0.Add(time.Hour)
			for i := range DefaultTenants + 1 { // the last one is Other
				record(u, t0, fmt.Sprintf("old%d", i), "a", "", "", "", "", 1, false)
			}
			record(u, t1, "old0", "a", "", "", "", "", 1, false) // the hour's first event
			u.Rows("old0", App, t1, t1.Add(time.Hour), 5)        // aggregated: Other is full
			record(u, t1, "x", "a", "", "", "", "", 7, false)    // a call, as Other's
			u.Rows("old0", App, t1, t1.Add(time.Hour), 5)
			record(u, t1, "old1", "a", "", "", "", "", 1, false) // the hour's second event: prunes t0
			if reserved {
				u.Settle(t1, "x", "a", 3)
				u.Rows("old0", App, t1, t1.Add(time.Hour), 5)
				u.Settle(t1, "x", "a", -3)
			}
			u.Refuse(Event{At: t1, Tenant: "x", App: "a", Credits: 7})
			for _, c := range u.TenantRows(t1, t1.Add(time.Hour)) {
				if c.Calls < 0 || c.Credits < 0 || c.Refused < 0 || c.Key == "x" {
					t.Errorf("tenant row %+v: its call was Other's", c)
				}
				if c.Key == Other && (c.Calls != 0 || c.Credits != 0 || c.Refused != 1) {
					t.Errorf("Other's row %+v, want the call refused: 0 calls, 0 credits, 1 refusal", c)
				}
			}
		})
	}
}
