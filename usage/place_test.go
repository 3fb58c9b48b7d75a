package usage

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// A correction (a refusal, a settle) of a call lands where the call did.
// Here a tenant's call is folded into Other as it is recorded
// (DefaultTenants kept), a prune then makes room, and the same tenant's
// next call of the hour makes it a row: before, the first call's refusal
// (or settle), named by the tenant, went to that row, leaving it with 0
// calls and -2 credits while Other kept the refused call and its 7
// credits. RecordIn now reports the fold, and the correction names Other.
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
			if !record(u, t1, x, "a", "", "", "", "", 7, false) { // Other's; the hour's second event prunes t0
				t.Fatal("RecordIn did not report the fold")
			}
			u.Rows("old0", App, t1, t1.Add(time.Hour), 5)
			if u.filter.full.Load() {
				t.Fatal("the prune made no room")
			}
			if record(u, t1, x, "a", "", "", "", "", 5, false) { // room: x's row
				t.Fatal("RecordIn reports a fold with room")
			}
			u.Rows("old0", App, t1, t1.Add(time.Hour), 5)
			other := Count{Key: Other, Refused: 1} // the first call, refused
			if kind == "refuse" {
				u.Refuse(Event{At: t1, Tenant: Other, App: "a", Credits: 7})
			} else {
				u.Settle(t1, Other, "a", -3) // the first call cost 4, not 7
				other = Count{Key: Other, Credits: 4, Calls: 1}
			}
			want := map[string]Count{x: {Key: x, Credits: 5, Calls: 1}, Other: other, "old0": {Key: "old0", Credits: 1, Calls: 1}}
			rows := u.TenantRows(t1, t1.Add(time.Hour))
			for _, c := range rows {
				if c != want[c.Key] {
					t.Errorf("row %+v, want %+v", c, want[c.Key])
				}
			}
			if len(rows) != len(want) {
				t.Errorf("rows %+v, want %v", rows, want)
			}
		})
	}
}

// A property of placement past the cap, against a model of the calls:
// random calls of a population of 1,200 tenants (more than DefaultTenants)
// that moves on by 300 every hour, with one hour retained, so that each
// hour's prune makes room while calls recorded before it folded; random
// refusals and settles of the hour's calls, dated at the call's hour, and
// queries in between (which aggregate). After every query, each row
// counts no fewer than zero calls and credits in the hour (a correction
// that missed its call's row takes them below), and the rows add up to
// the model's sums of the hour's calls.
func TestPlacementPastTheCapProperty(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			u := newStats(t, time.Hour, 10)
			type call struct {
				tenant  string // as its corrections name it: Other if RecordIn folded it
				credits int64
			}
			var open []call // the hour's, not yet refused
			var sum Count   // the hour's
			hour := 0
			at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
			check := func() {
				var all Count
				for _, c := range u.TenantRows(at(hour), at(hour+1)) {
					if c.Calls < 0 || c.Credits < 0 || c.Refused < 0 {
						t.Fatalf("hour %d: row %+v below zero", hour, c)
					}
					c.Key = ""
					all.Add(c)
				}
				if all != sum {
					t.Fatalf("hour %d: rows add to %+v, the calls to %+v", hour, all, sum)
				}
			}
			for range 40_000 {
				switch n := r.IntN(4000); {
				case n < 1:
					check()
					hour++
					open, sum = nil, Count{}
				case n < 320 && len(open) > 0: // a refusal
					i := r.IntN(len(open))
					c := open[i]
					open = slices.Delete(open, i, i+1)
					u.Refuse(Event{At: at(hour), Tenant: c.tenant, App: "a", Credits: c.credits})
					sum.Add(Count{Credits: -c.credits, Calls: -1, Refused: 1})
				case n < 640 && len(open) > 0: // a settle, to between 0 and twice the cost
					i := r.IntN(len(open))
					d := r.Int64N(2*open[i].credits+1) - open[i].credits
					u.Settle(at(hour), open[i].tenant, "a", d)
					open[i].credits += d
					sum.Add(Count{Credits: d})
				case n < 680:
					check()
				default:
					c := call{tenant: fmt.Sprintf("tenant-%05d", 300*hour+r.IntN(1200)), credits: 1 + r.Int64N(9)}
					if record(u, at(hour), c.tenant, "a", "", "", "", "", c.credits, false) {
						c.tenant = Other
					}
					open = append(open, c)
					sum.Add(Count{Credits: c.credits, Calls: 1})
				}
			}
			check()
		})
	}
}
