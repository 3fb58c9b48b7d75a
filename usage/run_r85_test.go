package usage

import (
	"testing"
	"time"
)

// Reviewer-85: a shard's first run, opened in the hour that starts at the
// Unix epoch (from 0), is joined by the next decision with its keys, as a
// run in any other hour is: its bounds are [0, 3600), not the zero
// value's empty [0, 0).
func TestOpenRunFirstAtEpochHour(t *testing.T) {
	for _, sec := range []int64{0, 1800, 3599, 3600, -1} {
		u := newStats(t, 0, 100)
		e := Event{At: time.Unix(sec, 0), Tenant: "t", App: "a", Method: "GET", Credits: 2}
		for range openAfter {
			u.RecordIn(0, &e)
		}
		r := &u.shardOf(0).run
		w := r.state.Load()
		if w&runOpen == 0 {
			t.Fatalf("second %d: no run open after a burst", sec)
		}
		u.RecordIn(0, &e)
		x := r.state.Load()
		if x&tagMask != w&tagMask || x&callsMax != 1 || x>>creditsShift&creditsMax != 2 {
			t.Fatalf("second %d: the next decision left state %x after %x: want it counted in the open run", sec, x, w)
		}
		want := Count{Key: "t", Calls: openAfter + 1, Credits: 2 * (openAfter + 1)}
		h := time.Unix(hourOf(e.At)*3600, 0)
		if rows := u.TenantRows(h, h.Add(time.Hour)); len(rows) != 1 || rows[0] != want {
			t.Fatalf("second %d: rows %+v, want %+v", sec, rows, want)
		}
	}
}
