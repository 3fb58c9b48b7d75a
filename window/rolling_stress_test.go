package window

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRollingStress races goroutines with random costs (1..L) and a shared
// clock that mostly moves forward, with stale callers and rare day-long jumps,
// some refunding what they took. Half the goroutines take as TryAcquireAt
// does (fast path first), half through take alone. Every admission is logged at the instant it
// was counted, and the log is replayed: no interval of length W may hold more
// than L. Counted instants are checked against the callers' clocks: never
// before the caller's now, never after the newest now any caller passed.
func TestRollingStress(t *testing.T) {
	configs := []struct {
		limit  int64
		length time.Duration
		slots  int
	}{
		{10, time.Millisecond, 10},
		{1000, time.Millisecond, 96},
		{3, 100 * time.Microsecond, 7},
	}
	for ci, c := range configs {
		r, err := NewRolling(c.limit, c.length, WithSlots(c.slots))
		if err != nil {
			t.Fatal(err)
		}
		w := int64(r.SlotWidth())
		var clock, newest atomic.Int64
		clock.Store(start.UnixNano())
		newest.Store(start.UnixNano())
		const goroutines, perG = 8, 4000
		logs := make([][]entry, goroutines)
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(ci), uint64(g)))
				var log []entry
				for range perG {
					now := clock.Add(rng.Int64N(w / 4))
					if rng.IntN(2000) == 0 {
						now = clock.Add(int64(24 * time.Hour))
					}
					if rng.IntN(5) == 0 {
						now -= rng.Int64N(3 * w) // stale
					}
					for m := newest.Load(); now > m && !newest.CompareAndSwap(m, now); m = newest.Load() {
					}
					n := 1 + rng.Int64N(c.limit)
					take := r.takeTok
					if g%2 == 0 {
						take = r.acquireTok // TryAcquireAt's fast path first
					}
					ok, eff, slot := take(time.Unix(0, now), n)
					if !ok {
						continue
					}
					e := eff.UnixNano()
					if e < now || e > newest.Load() {
						t.Errorf("counted at %d for a caller at %d (newest %d)", e, now, newest.Load())
						return
					}
					if rng.IntN(8) == 0 {
						n -= r.refundSlot(slot, n)
					}
					if n > 0 {
						log = append(log, entry{e, n})
					}
				}
				logs[g] = log
			})
		}
		wg.Wait()
		var all []entry
		for _, l := range logs {
			all = append(all, l...)
		}
		if len(all) == 0 {
			t.Fatal("nothing admitted")
		}
		replay(t, all, int64(c.length), c.limit)
	}
}
