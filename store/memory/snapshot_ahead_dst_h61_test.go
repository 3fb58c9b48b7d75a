package memory

import (
	"bytes"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// Helper-61: the bound on a snapshot taken ahead is the calendar window's
// nominal length, also on a day of 25 hours (Los Angeles, 1 November 2026):
// exactly a day ahead is restored, a nanosecond more refused, whether the
// restore's now is on the long day or the day before it.
func TestRestoreTakenAheadCalendarDST(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Skip(err)
	}
	p := &store.Plan{Credits: 100, Window: 24 * time.Hour, Concurrency: 4, Calendar: &store.Calendar{Location: la}}
	pf := func(string) *store.Plan { return p }
	for _, taken := range []time.Time{
		time.Date(2026, 11, 1, 23, 30, 0, 0, la), // late on the long day
		time.Date(2026, 11, 2, 0, 30, 0, 0, la),  // early on the day after
	} {
		a := New()
		var l Lease
		var d store.Decision
		if a.Take(taken.Add(-time.Minute), &store.Request{Tenant: "c", App: "a", Credits: 10}, pf, &l, &d); !d.Allowed {
			t.Fatal(d)
		}
		a.Release(&l)
		var buf bytes.Buffer
		if err := a.SnapshotAt(taken, &buf); err != nil {
			t.Fatal(err)
		}
		checkRestoreAhead(t, taken.String()+", a day ahead", buf.String(), taken.Add(-24*time.Hour), pf, true)
		checkRestoreAhead(t, taken.String()+", a day and 1 ns ahead", buf.String(), taken.Add(-24*time.Hour-1), pf, false)
	}
}
