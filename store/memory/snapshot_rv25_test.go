package memory

import (
	"bytes"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// A restore under another plan carries the spends as a live SetPlan at the
// same instant does: compare Peek of a store that changed plan live with
// one restored from a snapshot taken at that instant.
func TestRestoreMatchesLivePlanChange(t *testing.T) {
	utc := &store.Calendar{Location: time.UTC}
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		old, new *store.Plan
		takes    []time.Duration // 10 credits each, after t0
		at       time.Duration   // the snapshot and the live change
	}{
		{
			// The pool rolls over an hour, an extra window is the calendar
			// hour: a calendar pool of an hour must not take the rolling
			// hour's spends live and the calendar's on a restore.
			name:  "rolling and calendar of one length",
			old:   &store.Plan{Credits: 100, Window: time.Hour, Concurrency: 4, Extra: []store.WindowLimit{{Credits: 60, Window: time.Hour, Calendar: utc}}},
			new:   &store.Plan{Credits: 100, Window: time.Hour, Calendar: utc, Concurrency: 4},
			takes: []time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 65 * time.Minute},
			at:    70 * time.Minute,
		},
		{
			// An extra window of an hour with nothing out saw that nothing
			// was spent in the last hour: a new calendar pool of an hour is
			// full, as it is live.
			name:  "an extra window with nothing out",
			old:   &store.Plan{Credits: 100, Window: 24 * time.Hour, Concurrency: 4, Extra: []store.WindowLimit{{Credits: 50, Window: time.Hour}}},
			new:   &store.Plan{Credits: 100, Window: time.Hour, Calendar: utc, Concurrency: 4},
			takes: []time.Duration{0, 0, 0},
			at:    2 * time.Hour,
		},
		{
			name:  "a calendar pool to a rolling one",
			old:   &store.Plan{Credits: 100, Window: time.Hour, Calendar: utc, Concurrency: 4, Extra: []store.WindowLimit{{Credits: 60, Window: time.Hour}}},
			new:   &store.Plan{Credits: 100, Window: 2 * time.Hour, Concurrency: 4},
			takes: []time.Duration{50 * time.Minute, 65 * time.Minute},
			at:    70 * time.Minute,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.old.Validate(); err != nil {
				t.Fatal(err)
			}
			oldf := func(string) *store.Plan { return tc.old }
			newf := func(string) *store.Plan { return tc.new }
			a := New()
			for _, at := range tc.takes {
				var l Lease
				var d store.Decision
				if a.Take(t0.Add(at), &store.Request{Tenant: "c", App: "a", Credits: 10}, oldf, &l, &d); !d.Allowed {
					t.Fatalf("take at +%v: %+v", at, d)
				}
				a.Release(&l)
			}
			now := t0.Add(tc.at)
			var buf bytes.Buffer
			if err := a.SnapshotAt(now, &buf); err != nil {
				t.Fatal(err)
			}
			b := New()
			if err := b.RestoreAt(now, bytes.NewReader(buf.Bytes()), newf); err != nil {
				t.Fatal(err)
			}
			if err := a.SetPlan(now, "c", tc.new); err != nil {
				t.Fatal(err)
			}
			for _, at := range []time.Duration{0, 10 * time.Minute, 45 * time.Minute, 2 * time.Hour} {
				live, restored := a.Peek(now.Add(at), "c", 0, newf), b.Peek(now.Add(at), "c", 0, newf)
				if live.Remaining != restored.Remaining {
					t.Errorf("+%v: %d remaining restored, %d live (snapshot %s)", at, restored.Remaining, live.Remaining, buf.String())
				}
			}
		})
	}
}
