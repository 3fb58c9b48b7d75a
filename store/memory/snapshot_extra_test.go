package memory

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// A snapshot saves the extra windows' spending too: Validate allows an
// extra window longer than the pool, and a restore that gave it back empty
// let the tenant spend it again (here 100 credits of a day capped at 150,
// already spent, admitted again after a restart). Also for a tenant
// folded when the snapshot is taken.
func TestSnapshotKeepsExtraWindows(t *testing.T) {
	p := &store.Plan{Credits: 100, Window: time.Hour, Concurrency: 4,
		Extra: []store.WindowLimit{{Credits: 150, Window: 24 * time.Hour}}}
	pf := func(string) *store.Plan { return p }
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	take := func(s *Store, at time.Time, n int64) store.Decision {
		var l Lease
		var d store.Decision
		if s.Take(at, &store.Request{Tenant: "c", App: "a", Credits: n}, pf, &l, &d); d.Allowed {
			s.Release(&l)
		}
		return d
	}
	now := t0.Add(4 * time.Hour)
	for _, mode := range []string{"active", "folded", "restored folded"} {
		fold := mode == "folded"
		a := New()
		if d := take(a, t0, 100); !d.Allowed {
			t.Fatalf("first 100: %+v", d)
		}
		if d := take(a, t0.Add(2*time.Hour), 50); !d.Allowed { // the day's last 50
			t.Fatalf("next 50: %+v", d)
		}
		var buf bytes.Buffer
		if fold {
			if a.Sweep(now); a.Folded() != 1 {
				t.Fatalf("%d tenants folded", a.Folded())
			}
		}
		if err := a.SnapshotAt(now, &buf); err != nil {
			t.Fatal(err)
		}
		b := New()
		if mode == "restored folded" { // a store at its tenant bound restores c folded
			b = New(WithMaxTenants(1))
			var l Lease
			var d store.Decision
			b.Take(now, &store.Request{Tenant: "x", App: "a", Credits: 1}, pf, &l, &d)
			b.Release(&l)
		}
		if err := b.RestoreAt(now, &buf, pf); err != nil {
			t.Fatal(err)
		}
		if mode == "restored folded" && b.Folded() != 1 {
			t.Fatalf("%d tenants restored folded, want 1", b.Folded())
		}
		if d := take(b, now, 1); d.Allowed {
			t.Errorf("%s: the restored tenant spent past its day's 150: %+v", mode, d)
		}
		for _, at := range []time.Duration{0, 12 * time.Hour, 24*time.Hour + time.Minute, 26*time.Hour + time.Minute} {
			da, db := a.Peek(now.Add(at), "c", 0, pf), b.Peek(now.Add(at), "c", 0, pf)
			if da.Remaining != db.Remaining || !da.Reset.Equal(db.Reset) {
				t.Errorf("%s, +%v: original %+v, restored %+v", mode, at, da, db)
			}
		}
	}
}

// Snapshots are written in version 2, with the pool's length whether or
// not extra windows have credits out; version 1 (no lengths) is still
// read; a version 2 snapshot whose windows do not add up is corrupt, and
// changes nothing.
func TestSnapshotVersions(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	plain := &store.Plan{Credits: 100, Window: time.Hour, Concurrency: 4}
	c := plain.Clone()
	compound := &c
	compound.Extra = []store.WindowLimit{{Credits: 150, Window: 24 * time.Hour}}
	snap := func(p *store.Plan) string {
		s := New()
		var l Lease
		var d store.Decision
		s.Take(t0, &store.Request{Tenant: "c", App: "a", Credits: 10}, func(string) *store.Plan { return p }, &l, &d)
		var buf bytes.Buffer
		if err := s.SnapshotAt(t0, &buf); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	alone := snap(plain)
	if !strings.Contains(alone, `"version":2,`) || !strings.Contains(alone, `"window":3600000000000`) || strings.Contains(alone, `"extra"`) {
		t.Errorf("a pool alone: %s", alone)
	}
	v1 := strings.Replace(strings.Replace(alone, `"version":2`, `"version":1`, 1), `,"window":3600000000000`, ``, 1)
	r := New()
	if err := r.RestoreAt(t0, strings.NewReader(v1), func(string) *store.Plan { return plain }); err != nil || r.Len() != 1 {
		t.Fatalf("version 1 (%s): %v, %d tenants", v1, err, r.Len())
	}
	if d := r.Peek(t0, "c", 0, func(string) *store.Plan { return plain }); d.Remaining != 90 {
		t.Errorf("version 1 restored %d remaining, want 90", d.Remaining)
	}
	// a version 2 entry without the pool's length, as written before every
	// entry had it, reads as version 1's
	r = New()
	if err := r.RestoreAt(t0, strings.NewReader(strings.Replace(alone, `,"window":3600000000000`, ``, 1)), func(string) *store.Plan { return plain }); err != nil || r.Len() != 1 {
		t.Fatalf("version 2 without the pool's length: %v, %d tenants", err, r.Len())
	}
	good := snap(compound)
	if !strings.Contains(good, `"version":2,`) || !strings.Contains(good, `"extra"`) {
		t.Fatalf("an extra window: %s", good)
	}
	for _, bad := range []string{
		strings.Replace(good, `"version":2`, `"version":1`, 1),  // extra windows in version 1
		strings.Replace(alone, `"version":2`, `"version":1`, 1), // a pool length in version 1
		strings.Replace(good, `"window":3600000000000,`, ``, 1), // no pool length
		strings.Replace(good, `"window":86400000000000`, `"window":0`, 1),
		strings.Replace(good, `"window":86400000000000`, `"window":-1`, 1),
	} {
		if bad == good {
			t.Fatalf("the snapshot is not as the test expects: %s", good)
		}
		s := New()
		if err := s.RestoreAt(t0, strings.NewReader(bad), func(string) *store.Plan { return compound }); !errors.Is(err, store.ErrSnapshotCorrupt) {
			t.Errorf("%s: %v", bad, err)
		}
		if s.Len() != 0 {
			t.Errorf("%s: a corrupt snapshot restored %d tenants", bad, s.Len())
		}
	}
	var ve *SnapshotVersionError
	if err := New().RestoreAt(t0, strings.NewReader(strings.Replace(good, `"version":2`, `"version":4`, 1)), nil); !errors.As(err, &ve) {
		t.Errorf("version 4: %v", err)
	}
}

// A snapshot says how long the pool's window was, so that a restore under
// a longer pool keeps the spends as a live plan change does (see
// carryFrom): a pool of 100 an hour, spent, then given a day's window. Read
// as of the new length, the spends came back after an hour, 23 hours early.
func TestRestoreUnderLongerPool(t *testing.T) {
	hour := &store.Plan{Credits: 100, Window: time.Hour, Concurrency: 4}
	day := &store.Plan{Credits: 100, Window: 24 * time.Hour, Concurrency: 4}
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	a := New()
	var l Lease
	var d store.Decision
	if a.Take(t0, &store.Request{Tenant: "c", App: "a", Credits: 100}, func(string) *store.Plan { return hour }, &l, &d); !d.Allowed {
		t.Fatalf("the first 100: %+v", d)
	}
	a.Release(&l)
	now := t0.Add(time.Minute)
	var buf bytes.Buffer
	if err := a.SnapshotAt(now, &buf); err != nil {
		t.Fatal(err)
	}
	b := New()
	if err := b.RestoreAt(now, &buf, func(string) *store.Plan { return day }); err != nil {
		t.Fatal(err)
	}
	if err := a.SetPlan(now, "c", day); err != nil { // the live change, for comparison
		t.Fatal(err)
	}
	pf := func(string) *store.Plan { return day }
	for _, at := range []time.Duration{2 * time.Hour, 12 * time.Hour, 25 * time.Hour} {
		live, restored := a.Peek(t0.Add(at), "c", 0, pf), b.Peek(t0.Add(at), "c", 0, pf)
		if live.Remaining != restored.Remaining {
			t.Errorf("+%v: %d remaining after a restore under a day's pool, %d after a live change", at, restored.Remaining, live.Remaining)
		}
	}
}
