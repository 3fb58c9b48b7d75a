package usage

import (
	"fmt"
	"testing"
	"time"
)

// A tenant's calls of one hour are all in its own row or all in Other's,
// never split, so that a correction (a refusal, a settle) of any of them
// lands where its call did. Here a tenant's call is folded into Other as
// it is recorded (DefaultTenants kept), a prune then makes room, and the
// same tenant's next call of the hour makes it a row: before, that call
// counted in the new row and the first call's refusal (or settle) went
// there too, leaving the row with 0 calls and -2 credits while Other kept
// the refused call and its 7 credits.
func TestCorrectionOfFoldedCallAfterRowMade(t *testing.T) {
	for _, kind := range []string{"refuse", "settle"} {
		t.Run(kind, func(t *testing.T) {
			u := newStats(t, time.Hour, 10) // one hour kept
			t1 := t0.Add(time.Hour)
			for i := range DefaultTenants + 1 { // the last one is Other
				record(u, t0, fmt.Sprintf("old%d", i), "a", "", "", "", "", 1, false)
			}
			record(u, t1, "old0", "a", "", "", "", "", 1, false) // the hour's first event
			u.Rows("old0", App, t1, t1.Add(time.Hour), 5)        // aggregated: the filter is full
			x := filteredName(t, u, true)
			record(u, t1, x, "a", "", "", "", "", 7, false) // folded as recorded: Other's; the hour's second event prunes t0
			u.Rows("old0", App, t1, t1.Add(time.Hour), 5)
			if u.filter.full.Load() {
				t.Fatal("the prune made no room")
			}
			record(u, t1, x, "a", "", "", "", "", 5, false) // not folded: room
			u.Rows("old0", App, t1, t1.Add(time.Hour), 5)
			want := Count{Credits: 5, Calls: 1, Refused: 1} // x's two calls, the first refused
			if kind == "refuse" {
				u.Refuse(Event{At: t1, Tenant: x, App: "a", Credits: 7})
			} else {
				u.Settle(t1, x, "a", -3) // the first call cost 4, not 7
				want = Count{Credits: 9, Calls: 2}
			}
			var all Count
			for _, c := range u.TenantRows(t1, t1.Add(time.Hour)) {
				if c.Credits < 0 || c.Calls < 0 {
					t.Errorf("row %+v below zero", c)
				}
				if c.Key == x && c.Credits+c.Calls+c.Refused != 0 {
					t.Errorf("x's row %+v, want its hour in Other's with the call folded before it", c)
				}
				if c.Key != "old0" {
					all.Add(c)
				}
			}
			if all != want {
				t.Errorf("x's calls add to %+v, want %+v", all, want)
			}
		})
	}
}
