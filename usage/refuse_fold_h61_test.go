package usage

import (
	"fmt"
	"testing"
	"time"
)

// Helper-61: a refusal lands where its call did. With DefaultTenants kept,
// a call of a new tenant at the hour's turn counts as Other's; the hour's
// second event (that call) prunes the tenants of the hour that left the
// retention, and the call's refusal, aggregated after it, found room and
// made the tenant a row of its own: -1 call, a refusal and minus its
// credits there, while Other kept the call and its credits.
//
// Helper-82: where the call lands is the tenant filter's to say, and a
// filter errs: RecordIn folds a tenant into Other as it records only when
// the full filter says the tenant is not kept, and about one name in 1,000
// (which ones, the filter's random seed decides) passes it as if kept. Such
// a call is recorded under its own name, placed by the aggregator after the
// prune has made room, and makes a row of its own; its refusal must land
// there too. The test picks both kinds of name, where it took "x", which
// failed about once in 600 runs: its call, and the refusal, in x's row.
func TestRefuseLandsWhereTheCallDid(t *testing.T) {
	// With a Reserve, the limiter settles 3 more by application after the
	// prune, then 3 less with the refusal.
	for _, folds := range []bool{true, false} {
		for _, reserved := range []bool{false, true} {
			t.Run(fmt.Sprintf("folds=%v/reserved=%v", folds, reserved), func(t *testing.T) {
				u := newStats(t, time.Hour, 10) // one hour kept
				t1 := t0.Add(time.Hour)
				for i := range DefaultTenants + 1 { // the last one is Other
					record(u, t0, fmt.Sprintf("old%d", i), "a", "", "", "", "", 1, false)
				}
				record(u, t1, "old0", "a", "", "", "", "", 1, false) // the hour's first event
				u.Rows("old0", App, t1, t1.Add(time.Hour), 5)        // aggregated: Other is full
				x := filteredName(t, u, folds, "old1")
				record(u, t1, x, "a", "", "", "", "", 7, false) // the hour's second event: prunes t0
				u.Rows("old0", App, t1, t1.Add(time.Hour), 5)
				record(u, t1, "old1", "a", "", "", "", "", 1, false) // a kept tenant's call after the prune
				if reserved {
					u.Settle(t1, x, "a", 3)
					u.Rows("old0", App, t1, t1.Add(time.Hour), 5)
					u.Settle(t1, x, "a", -3)
				}
				u.Refuse(Event{At: t1, Tenant: x, App: "a", Credits: 7})
				callRow := Other // the call's row: Other's when folded as recorded, else x's own
				if !folds {
					callRow = x
				}
				found := false
				for _, c := range u.TenantRows(t1, t1.Add(time.Hour)) {
					switch {
					case c.Key == callRow:
						found = true
						if c.Calls != 0 || c.Credits != 0 || c.Refused != 1 {
							t.Errorf("row %+v of the call, want it refused: 0 calls, 0 credits, 1 refusal", c)
						}
					case c.Key == "old0" || c.Key == "old1":
						if c != (Count{Key: c.Key, Credits: 1, Calls: 1}) {
							t.Errorf("tenant row %+v, want 1 call, 1 credit", c)
						}
					default:
						t.Errorf("tenant row %+v: the call was %s's", c, callRow)
					}
				}
				if !found {
					t.Errorf("no row for %s, where the call went", callRow)
				}
			})
		}
	}
}

// filteredName returns a tenant name, not kept by u, that u's full filter
// folds into Other if folds, else lets through as if kept (a false
// positive: about one name in 1,000), and whose filter word is none of
// apart's (a guard from place-a's first rule, which deferred the rows of
// a folded name's filter word; harmless now that a fold as recorded
// defers nothing).
func filteredName(t *testing.T, u *Stats, folds bool, apart ...string) string {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.filter.full.Load() {
		t.Fatal("the tenant filter is not full")
	}
	for i := range 1_000_000 {
		name := fmt.Sprintf("x%d", i)
		if u.tenants[name] == nil && u.filter.folds(name) == folds && !sameWord(u, name, apart) {
			return name
		}
	}
	t.Fatalf("no name the filter folds=%v", folds)
	return ""
}

// sameWord reports whether name's filter word is one of others'.
func sameWord(u *Stats, name string, others []string) bool {
	i, _ := u.filter.bits3(name)
	for _, o := range others {
		if j, _ := u.filter.bits3(o); i == j {
			return true
		}
	}
	return false
}
