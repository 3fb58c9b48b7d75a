package memory

import (
	"bytes"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// A snapshot restored at a now before it was taken (the restoring machine's
// clock behind the snapshotting one's) still keeps every credit out until
// it would have come back. It charged the spends at the restore's now: a
// calendar day's pool spent just after midnight, snapshotted then and
// restored 10 s before midnight by the other clock, was charged to the day
// before and came back whole at midnight (a day's 100 credits spent twice);
// a rolling hour's came back 10 minutes early.
func TestRestoreBeforeTaken(t *testing.T) {
	day := &store.Plan{Credits: 100, Window: 24 * time.Hour, Concurrency: 4, Calendar: &store.Calendar{Location: time.UTC}}
	hour := &store.Plan{Credits: 100, Window: time.Hour, Concurrency: 4}
	compound := &store.Plan{Credits: 100, Window: time.Hour, Concurrency: 4,
		Extra: []store.WindowLimit{{Credits: 150, Window: 24 * time.Hour, Calendar: &store.Calendar{Location: time.UTC}}}}
	t0 := time.Date(2026, 3, 2, 0, 0, 5, 0, time.UTC) // just after midnight
	for _, c := range []struct {
		name string
		p    *store.Plan
		skew time.Duration
	}{
		{"calendar day", day, 10 * time.Second},
		{"rolling hour", hour, 10 * time.Minute},
		{"hour and calendar day", compound, 10 * time.Second},
	} {
		pf := func(string) *store.Plan { return c.p }
		a := New()
		var l Lease
		var d store.Decision
		if a.Take(t0, &store.Request{Tenant: "c", App: "a", Credits: 100}, pf, &l, &d); !d.Allowed {
			t.Fatalf("%s: %+v", c.name, d)
		}
		a.Release(&l)
		taken := t0.Add(time.Second)
		var buf bytes.Buffer
		if err := a.SnapshotAt(taken, &buf); err != nil {
			t.Fatal(err)
		}
		b := New()
		if err := b.RestoreAt(t0.Add(-c.skew), &buf, pf); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, at := range []time.Duration{time.Minute, 55 * time.Minute, 2 * time.Hour} {
			da, db := a.Peek(t0.Add(at), "c", 0, pf), b.Peek(t0.Add(at), "c", 0, pf)
			if db.Remaining > da.Remaining {
				t.Errorf("%s, restored %v early, at +%v: %d credits left where the original has %d", c.name, c.skew, at, db.Remaining, da.Remaining)
			}
		}
	}
}
