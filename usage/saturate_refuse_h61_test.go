package usage

import (
	"math"
	"testing"
	"time"
)

// Helper-61: a sum that saturated is at least the bound, so a later
// subtraction (a Refuse of a call in the row, a settle's refund) must not
// bring it below: the row's credits, really MaxInt64-1 + 5 - 5 or more,
// read MaxInt64-5, less than the one huge call alone. Each way a refund
// meets a saturated sum: in the buffer, in a row, over hours.
func TestUsageSaturatedThenSubtracted(t *testing.T) {
	const big = math.MaxInt64 - 1
	t1 := t0.Add(time.Hour)
	cases := map[string]func(u *Stats){
		"refuse": func(u *Stats) {
			record(u, t0, "t", "a", "m", "", "bob", "GET", big, false)
			record(u, t0, "t", "a", "m", "", "bob", "GET", 5, false)
			u.Refuse(Event{At: t0, Tenant: "t", App: "a", Module: "m", User: "bob", Method: "GET", Credits: 5})
		},
		"refuse after flush": func(u *Stats) {
			record(u, t0, "t", "a", "m", "", "bob", "GET", big, false)
			record(u, t0, "t", "a", "m", "", "bob", "GET", 5, false)
			u.Rows("t", App, t0, t1, 5) // aggregated: the row is saturated
			u.Refuse(Event{At: t0, Tenant: "t", App: "a", Module: "m", User: "bob", Method: "GET", Credits: 5})
		},
		"settle refund": func(u *Stats) {
			record(u, t0, "t", "a", "m", "", "bob", "GET", big, false)
			record(u, t0, "t", "a", "m", "", "bob", "GET", 5, false)
			u.Rows("t", App, t0, t1, 5)
			u.Settle(t0, "t", "a", -5)
		},
		"over hours": func(u *Stats) {
			record(u, t0, "t", "a", "m", "", "bob", "GET", big, false)
			record(u, t0, "t", "a", "m", "", "bob", "GET", 5, false)
			record(u, t1, "t", "a", "m", "", "bob", "GET", 0, false)
			u.Settle(t1, "t", "a", -5)
		},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			u := newStats(t, 48*time.Hour, 4)
			f(u)
			for _, c := range u.Rows("t", App, t0, t1.Add(time.Hour), 5) {
				if c.Credits != math.MaxInt64 {
					t.Errorf("app row %q: %d credits, want MaxInt64 (saturated)", c.Key, c.Credits)
				}
			}
			for _, c := range u.TenantRows(t0, t1.Add(time.Hour)) {
				if c.Credits != math.MaxInt64 {
					t.Errorf("tenant row %q: %d credits, want MaxInt64 (saturated)", c.Key, c.Credits)
				}
			}
		})
	}
}
