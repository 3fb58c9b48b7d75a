package usage

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Bursts of decisions count through the shards' open runs (see openRun):
// against the model, with runs that fill up (large credits), decisions
// that cannot join one (negative credits, copies of the keys, another
// hour), settled differences between them in the same buffer, and queries
// in between, over four buffers. Half the bursts differ from the one
// before in one key or the hour alone, some keys as prefixes of another
// (the same pointer, another length), so that each compare of the run's
// keys is needed. Empty keys come from two places, with two data
// pointers: each is "" and must count as the other does.
func TestOpenRunMatchesModel(t *testing.T) {
	for seed := range uint64(8) {
		rng := rand.New(rand.NewPCG(seed, 23))
		u, m := newStats(t, 0, 1000), newModel()
		base := "prefixes"
		empty := base[4:4]
		if strPtr(empty) == strPtr("") {
			t.Fatal("the two empty keys share a pointer: the test needs two")
		}
		var pools [6]*keyPool // tenant, app, module, IP, user, method
		for i := range pools {
			pools[i] = newKeyPool(rng, fmt.Sprint("k", i), 2)
			pools[i].keys = append(pools[i].keys, base[:3], base[:5], "", empty)
		}
		var e Event
		var buf uint64
		opened := 0
		for step := 0; step < 8000; {
			if step == 0 || rng.IntN(2) == 0 {
				buf = uint64(rng.IntN(4)) << 32
				e = Event{At: t0.Add(time.Duration(rng.IntN(3)) * time.Hour)}
				for i, k := range runKeys(&e) {
					*k = pools[i].pick(rng.IntN(len(pools[i].keys)))
				}
			} else if d := rng.IntN(7); d == 6 {
				e.At = e.At.Add(time.Hour)
			} else {
				k := runKeys(&e)[d]
				for old := *k; *k == old; {
					*k = pools[d].pick(rng.IntN(len(pools[d].keys)))
				}
			}
			for range 1 + rng.IntN(40) {
				e.Credits, e.Refused = rng.Int64N(4), rng.IntN(8) == 0
				switch rng.IntN(20) {
				case 0:
					e.Credits = 3000 // fills the run's credits in a few decisions
				case 1:
					e.Credits = -2
				}
				u.RecordIn(buf, &e)
				m.record(&e)
				if u.shardOf(buf).run.state.Load()&runOpen != 0 {
					opened++
				}
				if rng.IntN(60) == 0 {
					u.SettleIn(buf, e.At, e.Tenant, e.App, 5)
					m.settle(e.At, e.Tenant, e.App, 5)
				}
				if step++; step%701 == 0 {
					m.check(t, u, fmt.Sprintf("seed %d step %d", seed, step))
				}
			}
		}
		m.check(t, u, fmt.Sprintf("seed %d end", seed))
		if opened < 1000 {
			t.Fatalf("seed %d: a run was open after %d decisions only", seed, opened)
		}
	}
}

func runKeys(e *Event) [6]*string {
	return [6]*string{&e.Tenant, &e.App, &e.Module, &e.IP, &e.User, &e.Method}
}

// A decision that compared the keys of a run that has closed and opened
// again since (with other keys) fails its compare-and-swap: the tag in the
// state changed, even though the new run's counts are the same.
func TestOpenRunTagChanges(t *testing.T) {
	u := newStats(t, 0, 100)
	burst := func(app string) {
		for range openAfter + 1 {
			recordIn(u, 0, t0, "t", app, "m", "ip", "u", "GET", 1, false)
		}
	}
	burst("a")
	r := &u.shardOf(0).run
	w := r.state.Load()
	if w&runOpen == 0 {
		t.Fatal("no run open after a burst")
	}
	burst("b") // closes a's run, opens b's
	x := r.state.Load()
	if x&runOpen == 0 || x&tagMask == w&tagMask {
		t.Fatalf("state %x after %x: want open with another tag", x, w)
	}
	if r.state.CompareAndSwap(w&^(callsMax|creditsMax<<creditsShift)|x&(callsMax|creditsMax<<creditsShift), w+1) {
		t.Fatal("a stale decision's compare-and-swap succeeded")
	}
}

// Goroutines record bursts into two shared buffers, so that they race on
// the open runs' compare-and-swap and on closing them, with settled
// differences among their decisions, while another queries: each query
// sees at least every decision that returned before it and at most those
// that started, and in the end every count is exact.
func TestOpenRunConcurrent(t *testing.T) {
	u := newStats(t, 0, 100)
	const workers, perWorker = 4, 20_000
	var started, done, opened atomic.Int64 // calls; decisions that left a run open
	var credits [workers]int64
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 29))
			for range perWorker {
				e := Event{At: t0, Tenant: "t", App: "a", Module: "m", Method: "GET", Credits: rng.Int64N(3)}
				if rng.IntN(500) == 0 {
					e.App = "b" // closes the run: the next burst opens it again
				}
				buf := uint64(g%2) << 32
				started.Add(1)
				u.RecordIn(buf, &e)
				done.Add(1)
				if u.shardOf(buf).run.state.Load()&runOpen != 0 {
					opened.Add(1)
				}
				credits[g] += e.Credits
				if rng.IntN(100) == 0 {
					u.SettleIn(buf, t0, "t", e.App, -1)
					credits[g]--
				}
			}
		})
	}
	queryWhileCounting(t, u, &started, &done, workers*perWorker)
	wg.Wait()
	if n := opened.Load(); n < perWorker {
		t.Fatalf("a run was open after %d decisions only", n)
	}
	wantOneRow(t, u, credits[:], workers*perWorker)
}

// queryWhileCounting queries tenant t's calls in t0's hour until done
// reaches calls: each query must see at least the decisions done before
// it and at most those started by its end.
func queryWhileCounting(t *testing.T, u *Stats, started, done *atomic.Int64, calls int64) {
	t.Helper()
	for ok := true; ok; {
		ok = done.Load() < calls
		before := done.Load()
		var n int64
		for _, p := range u.Series("t", t0, t0.Add(time.Hour)) {
			n += p.Calls
		}
		if after := started.Load(); n < before || n > after {
			t.Fatalf("a query saw %d calls: %d were done before it, %d started by its end", n, before, after)
		}
	}
}

// wantOneRow checks that t0's hour has one tenant row, t's, with the
// credits of every worker and calls calls.
func wantOneRow(t *testing.T, u *Stats, credits []int64, calls int64) {
	t.Helper()
	var want int64
	for _, c := range credits {
		want += c
	}
	rows := u.TenantRows(t0, t0.Add(time.Hour))
	if len(rows) != 1 || rows[0] != (Count{Key: "t", Credits: want, Calls: calls}) {
		t.Fatalf("rows %+v, want t with %d credits and %d calls", rows, want, calls)
	}
}

// Helper-83: decisions with the open run's keys count in its state, not
// under the lock, until a count would overflow its field; then the lock
// merges the run into its event and it opens afresh. Calls, refusals and
// credits each fill their field in turn, and every count stays exact.
func TestOpenRunCountsUntilFull(t *testing.T) {
	for _, c := range []struct {
		name    string
		credits int64
		refused bool
		max     int // decisions that fill the run: its field's maximum
	}{
		{"calls", 0, false, callsMax},
		{"refused", 0, true, refusedMax},
		{"credits", 1000, false, creditsMax / 1000},
	} {
		u := newStats(t, 0, 100)
		e := Event{At: t0, Tenant: "t", App: "a", Method: "GET", Credits: c.credits, Refused: c.refused}
		for range openAfter {
			u.RecordIn(0, &e)
		}
		r := &u.shardOf(0).run
		w := r.state.Load()
		if w&runOpen == 0 {
			t.Fatalf("%s: no run open after a burst", c.name)
		}
		const n = 3000
		fills := 0
		for i := range n {
			u.RecordIn(0, &e)
			x := r.state.Load()
			if x&tagMask != w&tagMask { // the lock closed the run, which opened again
				if i%(c.max+1) != c.max {
					t.Fatalf("%s: decision %d closed the run", c.name, i)
				}
				fills++
			} else if calls, refused, credits := int(x&callsMax), int(x>>refusedShift&refusedMax), int64(x>>creditsShift&creditsMax); calls+refused != i%(c.max+1)+1 || credits != int64(calls)*c.credits {
				t.Fatalf("%s: decision %d left the run with %d calls, %d refused, %d credits", c.name, i, calls, refused, credits)
			}
			w = x
		}
		if fills != n/(c.max+1) {
			t.Fatalf("%s: the run filled %d times in %d decisions, want %d", c.name, fills, n, n/(c.max+1))
		}
		want := Count{Key: "t", Calls: openAfter + n, Credits: (openAfter + n) * c.credits}
		if c.refused {
			want = Count{Key: "t", Refused: openAfter + n}
		}
		if rows := u.TenantRows(t0, t0.Add(time.Hour)); len(rows) != 1 || rows[0] != want {
			t.Fatalf("%s: rows %+v, want %+v", c.name, rows, want)
		}
	}
}

// Helper-83: a decision joins the open run only within the run's hour:
// one second before it or at the next hour's first second counts in its
// own hour, at every date (before 1970, far ahead, near the ends of the
// hours an int64 of seconds holds).
func TestOpenRunHourEdges(t *testing.T) {
	for _, start := range []int64{
		t0.Unix(), -3600 * 1000, 0, 3600 * 1e9, -3600 * 1e12,
		math.MaxInt64/3600*3600 - 3600*3, math.MinInt64/3600*3600 + 3600*3,
	} {
		u := newStats(t, 0, 100)
		at := func(sec int64) time.Time { return time.Unix(sec, 0) }
		e := Event{At: at(start + 1800), Tenant: "t", App: "a", Method: "GET", Credits: 1}
		for range openAfter + 1 {
			u.RecordIn(0, &e)
		}
		if u.shardOf(0).run.state.Load()&runOpen == 0 {
			t.Fatalf("start %d: no run open after a burst", start)
		}
		want := map[int64]int64{hourOf(e.At): openAfter + 1}
		for _, sec := range []int64{start - 1, start, start + 3599, start + 3600, start + 1800, start - 3600} {
			e.At = at(sec)
			for range openAfter + 1 { // a burst of its own: a run for it, and back
				u.RecordIn(0, &e)
			}
			want[hourOf(e.At)] += openAfter + 1
			e.At = at(start + 1800)
			u.RecordIn(0, &e)
			want[hourOf(e.At)]++
		}
		u.flush()
		u.mu.Lock()
		got := map[int64]int64{}
		for h, hu := range u.tenants["t"].hours {
			got[h] = hu.total.Calls
		}
		u.mu.Unlock()
		if !maps.Equal(got, want) {
			t.Fatalf("start %d: calls by hour %v, want %v", start, got, want)
		}
	}
}
