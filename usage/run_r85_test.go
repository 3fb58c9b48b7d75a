package usage

import (
	"maps"
	"math"
	"sync"
	"sync/atomic"
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

// Reviewer-85: goroutines on one open run, with decisions at each field's
// edge (credits of 0, 1, creditsMax, creditsMax+1, negative, huge;
// refusals), fill and reopen it concurrently: every count is exact.
func TestOpenRunConcurrentEdges(t *testing.T) {
	u := newStats(t, 0, 100)
	const workers, perWorker = 6, 6000
	creditsOf := []int64{0, 1, 1, 1, creditsMax, creditsMax - 1, creditsMax + 1, -5, 1 << 40, creditsMax / 2}
	var sums [workers]Count
	var opened atomic.Int64 // decisions that left the run open
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			e := Event{At: t0, Tenant: "t", App: "a", Method: "GET"}
			for i := range perWorker {
				e.Refused = (i+g)%3 == 0
				e.Credits = creditsOf[(i*7+g)%len(creditsOf)]
				u.RecordIn(0, &e)
				if u.shardOf(0).run.state.Load()&runOpen != 0 {
					opened.Add(1)
				}
				if e.Refused {
					sums[g].Refused++
				} else {
					sums[g].Calls++
					sums[g].Credits += e.Credits
				}
			}
		})
	}
	wg.Wait()
	if n := opened.Load(); n < perWorker {
		t.Fatalf("the run was open after %d decisions only", n)
	}
	want := Count{Key: "t"}
	for _, s := range sums {
		want.Calls, want.Credits, want.Refused = want.Calls+s.Calls, want.Credits+s.Credits, want.Refused+s.Refused
	}
	if rows := u.TenantRows(t0, t0.Add(time.Hour)); len(rows) != 1 || rows[0] != want {
		t.Fatalf("rows %+v, want %+v", rows, want)
	}
}

// Reviewer-85: the run's 30-bit tag wraps to 0 on the opening after its
// largest value, with the open bit set and no counts: its carry reaches
// neither the open bit nor (from below) the counts, and the run counts
// on. (A decision that loaded the state 2^30 openings before its CAS,
// with the same counts, would still succeed: the design's stated limit.)
func TestOpenRunTagWraps(t *testing.T) {
	u := newStats(t, 0, 100)
	e := Event{At: t0, Tenant: "t", App: "a", Method: "GET", Credits: 1}
	for range openAfter {
		u.RecordIn(0, &e)
	}
	sh := u.shardOf(0)
	sh.lock() // closes the run, as a decision with other keys would
	sh.run.state.Store(tagMask)
	sh.mu.Unlock()
	u.RecordIn(0, &e) // merges under the lock, and opens the run again
	if w := sh.run.state.Load(); w != runOpen {
		t.Fatalf("state %x after the largest tag, want %x", w, uint64(runOpen))
	}
	u.RecordIn(0, &e)
	if w := sh.run.state.Load(); w != runOpen|1<<creditsShift|1 {
		t.Fatalf("state %x after a decision, want one call of one credit in an open run", w)
	}
	if rows := u.TenantRows(t0, t0.Add(time.Hour)); len(rows) != 1 || rows[0] != (Count{Key: "t", Credits: openAfter + 2, Calls: openAfter + 2}) {
		t.Fatalf("rows %+v", rows)
	}
}

// Reviewer-85: at the int64 ends of Unix seconds, the first and last hours
// (whose bounds in seconds overflow) open no run, the hours next to them
// open one that the next decision joins, and every count lands in its
// hour.
func TestOpenRunInt64Ends(t *testing.T) {
	for _, c := range []struct {
		sec  int64
		open bool
	}{
		{math.MaxInt64, false}, {math.MinInt64, false},
		{math.MaxInt64 - 3600, true}, {math.MinInt64 + 7200, true},
	} {
		u := newStats(t, 0, 100)
		e := Event{At: time.Unix(c.sec, 0), Tenant: "t", App: "a", Method: "GET", Credits: 3}
		for range openAfter {
			u.RecordIn(0, &e)
		}
		r := &u.shardOf(0).run
		if open := r.state.Load()&runOpen != 0; open != c.open {
			t.Fatalf("second %d: run open %v, want %v", c.sec, open, c.open)
		}
		u.RecordIn(0, &e)
		if x := r.state.Load(); c.open && x&callsMax != 1 {
			t.Fatalf("second %d: the next decision left state %x: want it in the run", c.sec, x)
		}
		u.flush()
		u.mu.Lock()
		got := map[int64]Count{}
		for h, hu := range u.tenants["t"].hours {
			got[h] = hu.total
		}
		u.mu.Unlock()
		want := map[int64]Count{hourOf(e.At): {Calls: openAfter + 1, Credits: 3 * (openAfter + 1)}}
		if !maps.Equal(got, want) {
			t.Fatalf("second %d: %v, want %v", c.sec, got, want)
		}
	}
}
