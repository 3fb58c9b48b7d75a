package memory

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// A snapshot taken more than its longest window ahead of the restore's now
// is refused as corrupt, and nothing is restored. It was restored as of its
// taken time: a snapshot taken ten days ahead kept its tenants charged, and
// unfoldable, until then. Up to the longest window ahead (a clock behind
// the snapshotting one, see TestRestoreBeforeTaken) it is restored.
func TestRestoreTakenFarAhead(t *testing.T) {
	hour := &store.Plan{Credits: 100, Window: time.Hour, Concurrency: 4}
	compound := &store.Plan{Credits: 100, Window: time.Hour, Concurrency: 4,
		Extra: []store.WindowLimit{{Credits: 150, Window: 24 * time.Hour, Calendar: &store.Calendar{Location: time.UTC}}}}
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	taken := t0.Add(time.Minute)
	for _, c := range []struct {
		name  string
		p     *store.Plan
		ahead time.Duration
		ok    bool
	}{
		{"rolling hour, an hour ahead", hour, time.Hour, true},
		{"rolling hour, an hour and 1 ns ahead", hour, time.Hour + 1, false},
		{"rolling hour, ten days ahead", hour, 240 * time.Hour, false},
		{"hour and calendar day, two hours ahead", compound, 2 * time.Hour, true},
		{"hour and calendar day, a day ahead", compound, 24 * time.Hour, true},
		{"hour and calendar day, a day and 1 ns ahead", compound, 24*time.Hour + 1, false},
	} {
		pf := func(string) *store.Plan { return c.p }
		a := New()
		var l Lease
		var d store.Decision
		if a.Take(t0, &store.Request{Tenant: "c", App: "a", Credits: 10}, pf, &l, &d); !d.Allowed {
			t.Fatalf("%s: %+v", c.name, d)
		}
		a.Release(&l)
		var buf bytes.Buffer
		if err := a.SnapshotAt(taken, &buf); err != nil {
			t.Fatal(err)
		}
		checkRestoreAhead(t, c.name, buf.String(), taken.Add(-c.ahead), pf, c.ok)
	}
}

// A version 1 entry names no window: the tenant's plan's windows bound it.
// A snapshot with no tenants charges nothing, however far ahead.
func TestRestoreTakenFarAheadV1(t *testing.T) {
	hour := &store.Plan{Credits: 100, Window: time.Hour, Concurrency: 4}
	pf := func(string) *store.Plan { return hour }
	taken := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	v1 := fmt.Sprintf(`{"format":"creditgate-limiter-snapshot","version":1,"taken":%d,"tenants":[{"tenant":"c","returns":[{"at":%d,"credits":5}]}]}`,
		taken.UnixNano(), taken.Add(30*time.Minute).UnixNano())
	checkRestoreAhead(t, "version 1, an hour ahead", v1, taken.Add(-time.Hour), pf, true)
	checkRestoreAhead(t, "version 1, an hour and 1 ns ahead", v1, taken.Add(-time.Hour-1), pf, false)
	empty := fmt.Sprintf(`{"format":"creditgate-limiter-snapshot","version":2,"taken":%d,"tenants":null}`, taken.UnixNano())
	b := New()
	if err := b.RestoreAt(taken.Add(-240*time.Hour), strings.NewReader(empty), pf); err != nil {
		t.Errorf("no tenants, ten days ahead: %v", err)
	}
}

func checkRestoreAhead(t *testing.T, name, snap string, now time.Time, pf store.PlanFunc, ok bool) {
	t.Helper()
	b := New()
	err := b.RestoreAt(now, strings.NewReader(snap), pf)
	switch {
	case ok && err != nil:
		t.Errorf("%s: %v", name, err)
	case !ok && !errors.Is(err, store.ErrSnapshotCorrupt):
		t.Errorf("%s: restored (err %v), want an error wrapping store.ErrSnapshotCorrupt", name, err)
	case !ok:
		if d := b.Peek(now, "c", 0, pf); d.Used != 0 || b.holds("c") {
			t.Errorf("%s: refused, yet restored: %+v", name, d)
		}
	case b.Peek(now, "c", 0, pf).Used == 0:
		t.Errorf("%s: restored without its spends", name)
	}
}
