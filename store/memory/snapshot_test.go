package memory

import (
	"bytes"
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
	for _, fold := range []bool{false, true} {
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
		if err := b.RestoreAt(now, &buf, pf); err != nil {
			t.Fatal(err)
		}
		if d := take(b, now, 1); d.Allowed {
			t.Errorf("folded %v: the restored tenant spent past its day's 150: %+v", fold, d)
		}
		for _, at := range []time.Duration{0, 12 * time.Hour, 24*time.Hour + time.Minute, 26*time.Hour + time.Minute} {
			da, db := a.Peek(now.Add(at), "c", 0, pf), b.Peek(now.Add(at), "c", 0, pf)
			if da.Remaining != db.Remaining || !da.Reset.Equal(db.Reset) {
				t.Errorf("folded %v, +%v: original %+v, restored %+v", fold, at, da, db)
			}
		}
	}
}
