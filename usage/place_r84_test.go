package usage

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// Reviewer-84: a tenant's late call of an hour before its row's from,
// aggregated right before its call of the row's first hour (one buffer,
// the same tenant string, the window already at that hour), sent both to
// Other: apply took Other, where the first went for being before the
// row, as the second's row too (prevTU, kept for a run of one tenant's
// events). The second call's refusal then went to the tenant's row,
// which read -1 call, -5 credits, while Other kept the call.
func TestCallAfterLateCallBeforeRowLandsInRow(t *testing.T) {
	u := newStats(t, 2*time.Hour, 10) // two hours kept
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	for i := range DefaultTenants + 1 { // the last one is Other
		record(u, at(0), fmt.Sprintf("old%d", i), "a", "", "", "", "", 1, false)
	}
	u.TenantRows(at(0), at(1)) // aggregated: the filter is full
	x := filteredName(t, u, true, "old0", "old1")
	const buf = 7 << 32
	recordIn(u, buf, at(2), x, "a", "", "", "", "", 7, false) // folded as recorded: x's word folded in hour 2
	u.TenantRows(at(0), at(1))
	record(u, at(3), "old0", "a", "", "", "", "", 1, false) // two events of hour 3: the window moves, the prune makes room
	record(u, at(3), "old1", "a", "", "", "", "", 1, false)
	u.TenantRows(at(0), at(1))
	if u.filter.full.Load() {
		t.Fatal("the prune made no room")
	}
	recordIn(u, buf, at(2), x, "a", "", "", "", "", 1, false) // late: before x's row (from hour 3), Other's
	recordIn(u, buf, at(3), x, "a", "", "", "", "", 5, false) // x's row's first hour
	u.TenantRows(at(0), at(1))
	u.RefuseIn(buf, &Event{At: at(3), Tenant: x, App: "a", Credits: 5})
	want := map[string]Count{x: {Key: x, Refused: 1}, "old0": {Key: "old0", Credits: 1, Calls: 1}, "old1": {Key: "old1", Credits: 1, Calls: 1}}
	rows := u.TenantRows(at(3), at(4))
	for _, c := range rows {
		if c != want[c.Key] {
			t.Errorf("hour 3: row %+v, want %+v", c, want[c.Key])
		}
	}
	if len(rows) != len(want) {
		t.Errorf("hour 3: rows %+v, want x's refused call in x's row", rows)
	}
	var h2 Count
	for _, c := range u.TenantRows(at(2), at(3)) {
		c.Key = ""
		h2.Add(c)
	}
	if h2 != (Count{Credits: 8, Calls: 2}) {
		t.Errorf("hour 2: rows add to %+v, want x's two calls", h2)
	}
}

// Reviewer-84: one stray call dated far ahead (a clock stepped; apply
// keeps such a lone event in its hour and lets it prune nothing), folded
// past the cap, raised its filter word's folded hour to that far hour
// (place-a's first rule), and every row made afterwards for a tenant of
// the word counted nothing until then. Now a call folded as recorded
// raises nothing (its corrections name Other), and an hour the aggregator
// notes for its fold slots is at most the one after the window's last
// (the stray's is noted as hour 1 here): y's calls of hours 3 and 4 count
// in its row, whether the stray folded as recorded or (by hand) as the
// aggregator placed it.
func TestStrayFutureFoldDefersRows(t *testing.T) {
	for _, aggregator := range []bool{false, true} {
		t.Run(fmt.Sprint("aggregator=", aggregator), func(t *testing.T) {
			u := newStats(t, 3*time.Hour, 10)
			at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
			for i := range DefaultTenants + 1 {
				record(u, at(0), fmt.Sprintf("old%d", i), "a", "", "", "", "", 1, false)
			}
			u.TenantRows(at(0), at(1))
			const y = "y"
			x := filteredName(t, u, true, "old0", "old1")
			if aggregator {
				x = y
			}
			record(u, at(10_000), x, "a", "", "", "", "", 1, false) // folded as recorded, a lone stray
			u.TenantRows(at(0), at(1))
			if aggregator {
				u.mu.Lock()
				u.foldedAt(y, hourOf(at(10_000))) // as if the aggregator had placed it in Other
				u.mu.Unlock()
			}
			for h := 2; h <= 4; h++ {
				record(u, at(h), "old0", "a", "", "", "", "", 1, false) // the window moves: the prune makes room
				record(u, at(h), "old1", "a", "", "", "", "", 1, false)
				u.TenantRows(at(0), at(1))
				record(u, at(h), y, "a", "", "", "", "", 1, false)
				record(u, at(h), y, "b", "", "", "", "", 1, false)
			}
			var got Count
			for _, c := range u.TenantRows(at(3), at(5)) {
				if c.Key == y {
					got = c
				}
			}
			if got.Calls != 4 {
				t.Errorf("y's row in hours 3 and 4: %+v, want its 4 calls", got)
			}
		})
	}
}

// Reviewer-84: a row made in an hour when the aggregator placed a call of
// its fold slot in Other counts nothing until the next hour (its calls are
// Other's), yet Tenants listed it, so a dashboard showed a tenant with no
// statistics ("Tenants returns the tenants with statistics") whose calls
// were in Other's row. (The aggregator's fold is set by hand here: it
// places a call in Other for want of room, or by the filter, when the
// call was recorded before the cap was reached.)
func TestDeferredRowNotListedUntilItCounts(t *testing.T) {
	u := newStats(t, time.Hour, 10)
	t1 := t0.Add(time.Hour)
	for i := range DefaultTenants + 1 {
		record(u, t0, fmt.Sprintf("old%d", i), "a", "", "", "", "", 1, false)
	}
	record(u, t1, "old0", "a", "", "", "", "", 1, false)
	u.TenantRows(t1, t1.Add(time.Hour))
	x := filteredName(t, u, true, "old0")
	record(u, t1, x, "a", "", "", "", "", 7, false) // folded as recorded; the hour's second event prunes t0
	u.TenantRows(t1, t1.Add(time.Hour))
	u.mu.Lock()
	u.foldedAt(x, hourOf(t1)) // as if the aggregator had placed a call of x's slot in Other
	u.mu.Unlock()
	record(u, t1, x, "a", "", "", "", "", 5, false) // a row from the next hour: Other's
	if slices.Contains(u.Tenants(), x) {
		t.Errorf("Tenants lists %s, whose calls are all Other's: %+v", x, u.TenantRows(t1, t1.Add(time.Hour)))
	}
	record(u, t1.Add(time.Hour), x, "a", "", "", "", "", 1, false)
	if !slices.Contains(u.Tenants(), x) {
		t.Errorf("Tenants leaves out %s, which counts a call of the next hour", x)
	}
}

// Reviewer-84: a tenant given a row in an hour its fold slot folded
// counts in it from the next hour (see Stats), with any retention. But the
// row, empty until then, was dropped by the next hour's prune (the hour's
// second event), and the tenant's first call after it made a row anew,
// deferred again if a tenant of its slot had folded in that hour before
// the prune: a tenant with calls in every hour, each after its hour's
// prune, never counted in its row. Here three hours are kept, 998 tenants
// keep their rows, and T's slot folds at each hour's start (set by hand,
// as the aggregator does when it places a call of the slot in Other).
func TestDeferredRowCountsFromTheNextHour(t *testing.T) {
	u := newStats(t, 3*time.Hour, 10)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	fillers := make([]string, DefaultTenants-2) // with e and Other, the cap
	for i := range fillers {
		fillers[i] = fmt.Sprintf("f%d", i)
		record(u, at(0), fillers[i], "a", "", "", "", "", 1, false)
	}
	u.TenantRows(at(0), at(1))
	record(u, at(0), "e", "a", "", "", "", "", 1, false) // the cap's last row, until hour 3
	u.TenantRows(at(0), at(1))
	record(u, at(0), "w", "a", "", "", "", "", 1, false) // Other
	u.TenantRows(at(0), at(1))
	const T = "T"
	for h := 1; h <= 6; h++ {
		u.mu.Lock()
		u.foldedAt(T, int64(h)+hourOf(t0)) // T's slot folds in h, before the prune
		u.mu.Unlock()
		record(u, at(h), fillers[0], "b", "", "", "", "", 1, false)
		record(u, at(h), fillers[1], "b", "", "", "", "", 1, false) // the hour's second event: the prune
		u.TenantRows(at(0), at(1))
		record(u, at(h), T, "a", "", "", "", "", 1, false)
		u.TenantRows(at(0), at(1))
		for _, f := range fillers {
			record(u, at(h), f, "a", "", "", "", "", 1, false)
		}
		u.TenantRows(at(0), at(1))
	}
	var got Count
	for _, c := range u.TenantRows(at(4), at(7)) {
		if c.Key == T {
			got = c
		}
	}
	if got.Calls != 3 {
		t.Errorf("T's row in hours 4 to 6, after its row was made in hour 3: %+v, want its 3 calls", got)
	}
}
