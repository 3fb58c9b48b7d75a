package usage

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Reviewer-85: past the cap, RecordIn reports a fold exactly for the names
// it records as Other, at every length the filter looks up inline (9 to 16
// bytes) or through has: a kept tenant under a changed key (not valid
// UTF-8) is never folded by its recorded name, before or after a prune
// sets the filter anew; a name not kept and not valid UTF-8 folds as
// recorded, and its correction, named Other, lands in Other's row; a
// tenant named "other" is reported folded (its calls are Other's row); a
// name longer than MaxKeyBytes is never folded as recorded, and the
// aggregator puts it in Other.
func TestRecordInReportsFolds(t *testing.T) {
	u := newStats(t, 2*time.Hour, 100) // one buffer: aggregated in the order recorded
	h1, h2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	var kept []string // not valid UTF-8, 3 to 20 bytes
	for n := 3; n <= 20; n++ {
		kept = append(kept, ("k\xff" + strings.Repeat("x", n))[:n])
	}
	recordIn(u, 0, t0, "gone", "a", "", "", "", "", 1, false)
	for i := range DefaultTenants - len(kept) - 1 { // with "gone": DefaultTenants
		recordIn(u, 0, h1, fmt.Sprint("t", i), "a", "", "", "", "", 1, false)
	}
	for _, name := range kept {
		if recordIn(u, 0, h1, name, "a", "", "", "", "", 1, false) {
			t.Fatalf("%q: folded below the cap", name)
		}
	}
	recordIn(u, 0, h1, "makes other", "a", "", "", "", "", 1, false)
	u.Tenants()
	if !u.filter.full.Load() || u.other == nil {
		t.Fatal("the cap is not reached")
	}
	long := strings.Repeat("L", MaxKeyBytes+1)
	check := func(when string, at time.Time, wantOther Count, keptCalls int64) {
		t.Helper()
		for _, name := range kept {
			if recordIn(u, 0, at, name, "a", "", "", "", "", 5, false) {
				t.Fatalf("%s: kept %q folds as recorded", when, name)
			}
		}
		passed := 0
		for n := 3; n <= 20; n++ {
			name := ("n\xfe" + strings.Repeat("y", n))[:n] // not kept, not valid UTF-8
			// The filter's bits of a name not kept may all be set by kept
			// names (its seed is random: about one run in a hundred): it
			// passes, is recorded under its own name, and the aggregator
			// puts it in Other. Only then may it go unfolded as recorded.
			if !recordIn(u, 0, at, name, "a", "", "", "", "", 3, false) {
				if u.filter.foldsPast(name) {
					t.Fatalf("%s: %q, not kept, is not folded as recorded", when, name)
				}
				passed++
			}
			u.Settle(at, Other, "a", -1) // its correction, as the limiter names it
			wantOther.Calls, wantOther.Credits = wantOther.Calls+1, wantOther.Credits+2
		}
		if passed > 3 {
			t.Fatalf("%s: %d of 18 names not kept passed the filter", when, passed)
		}
		if !recordIn(u, 0, at, Other, "a", "", "", "", "", 7, false) {
			t.Fatalf("%s: a tenant named %q is not reported folded", when, Other)
		}
		wantOther.Calls, wantOther.Credits = wantOther.Calls+1, wantOther.Credits+7
		if recordIn(u, 0, at, long, "a", "", "", "", "", 11, false) {
			t.Fatalf("%s: a name longer than MaxKeyBytes is folded as recorded", when)
		}
		wantOther.Calls, wantOther.Credits = wantOther.Calls+1, wantOther.Credits+11
		rows := u.TenantRows(at, at.Add(time.Hour))
		got := map[string]Count{}
		for _, r := range rows {
			got[r.Key] = r
		}
		if got[Other] != wantOther {
			t.Fatalf("%s: Other %+v, want %+v", when, got[Other], wantOther)
		}
		for _, name := range kept {
			key := tenantKey(name)
			if c := got[key]; c.Calls != keptCalls || c.Credits != 5+keptCalls-1 {
				t.Fatalf("%s: kept %q (key %q): %+v, want %d calls", when, name, key, c, keptCalls)
			}
			if n, ok := u.TenantName(key); !ok || n != name {
				t.Fatalf("%s: TenantName(%q) = %q, %v; want %q", when, key, n, ok, name)
			}
		}
	}
	check("added", h1.Add(time.Minute), Count{Key: Other, Calls: 1, Credits: 1}, 2) // "makes other"; the kept names' first calls
	for _, app := range []string{"a", "b"} {                                        // two events move the window to h2: "gone" goes
		recordIn(u, 0, h2, "t1", app, "", "", "", "", 1, false)
	}
	u.Tenants()
	if u.tenants["gone"] != nil {
		t.Fatal("no prune")
	}
	// Other is in the tenants map, so the cap is still reached: the prune
	// has set the filter anew (resetFilter), full.
	if !u.filter.full.Load() {
		t.Fatal("the cap is not reached after the prune")
	}
	check("after a prune", h2, Count{Key: Other}, 1)
}

// Reviewer-85: a tenant kept under a changed key (a 12-byte name not valid
// UTF-8) that a prune drops folds as recorded while the cap is reached,
// and once kept again (re-added after a prune made room, then the cap
// reached again) never folds by its name.
func TestRecordInRenamedDroppedAndReadded(t *testing.T) {
	u := newStats(t, 2*time.Hour, 100) // one buffer: aggregated in the order recorded
	h := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Hour) }
	const r = "renamed\xff1234"
	fill := func(at time.Time, prefix string, n int) {
		for i := range n {
			recordIn(u, 0, at, fmt.Sprint(prefix, i), "a", "", "", "", "", 1, false)
		}
	}
	moveTo := func(at time.Time) { // two events of a kept tenant: the window moves, and prunes
		recordIn(u, 0, at, Other, "a", "", "", "", "", 0, false)
		recordIn(u, 0, at, Other, "b", "", "", "", "", 0, false)
		u.Tenants()
	}
	recordIn(u, 0, h(0), r, "a", "", "", "", "", 1, false)
	fill(h(1), "t", DefaultTenants) // the last makes Other
	u.Tenants()
	if !u.filter.full.Load() || u.tenants[tenantKey(r)] == nil {
		t.Fatal("the cap is not reached, or r is not kept")
	}
	if u.filter.folds(r) {
		t.Fatal("kept r folds as recorded")
	}
	moveTo(h(2)) // h(0) leaves the window: r, with no other hour, is dropped
	if u.tenants[tenantKey(r)] != nil || !u.filter.full.Load() {
		t.Fatalf("r kept %v, filter full %v: want dropped, full", u.tenants[tenantKey(r)] != nil, u.filter.full.Load())
	}
	if !recordIn(u, 0, h(2), r, "a", "", "", "", "", 1, false) {
		t.Fatal("dropped r, past the cap, is not folded as recorded")
	}
	at := h(3)
	moveTo(at) // h(1) leaves: the t tenants go, and make room
	if u.filter.full.Load() {
		t.Fatal("the cap is still reached after the t tenants left")
	}
	if recordIn(u, 0, at, r, "a", "", "", "", "", 1, false) {
		t.Fatal("r, with room, folds as recorded")
	}
	fill(at, "s", DefaultTenants) // the cap again
	u.Tenants()
	if !u.filter.full.Load() || u.tenants[tenantKey(r)] == nil {
		t.Fatal("the cap is not reached again, or r is not kept")
	}
	for range 3 {
		if recordIn(u, 0, at, r, "a", "", "", "", "", 1, false) {
			t.Fatal("re-added r folds as recorded")
		}
	}
	var calls int64
	for _, c := range u.TenantRows(at, at.Add(time.Hour)) {
		if c.Key == tenantKey(r) {
			calls = c.Calls
		}
	}
	if calls != 4 {
		t.Fatalf("re-added r: %d calls in its hour, want 4", calls)
	}
}
