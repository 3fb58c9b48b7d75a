//go:build creditgate_testhooks

package window

// Reviewer r133: TestRollingStressJumps with the count checked exactly.

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRollingStressJumpsExact_r133 is TestRollingStressJumps (jumps of
// laneAlias slots and of a ring, hooks yielding one time in four, refunds
// by token) with queries (RemainingAt, Returns, ResetAt, AvailableAt) in
// the mix, limits whose slots spill into the 32-bit and 64-bit tiers (so
// late recorders allocate tiers into dropped rings), and, besides the
// replay (no interval of W above the limit), two checks at quiescence: the
// window counts exactly the credits the logged admissions of live slots
// still hold (no over-count left by a dropped ring, no undercount), and a
// window later it counts nothing (no leak). Passes on a56f83a.
// CREDITGATE_STRESS_ROUNDS sets the rounds (default 10).
func TestRollingStressJumpsExact_r133(t *testing.T) {
	rounds := stressRounds(t, 10)
	defer clearHooks()
	yieldInHooks()
	type logged struct {
		slot, eff uint64
		n         int64
	}
	configs := []struct {
		limit   int64
		amounts []int64
	}{
		{10, []int64{1, 2, 3}},
		{3 << 23, []int64{1, 2, 5000, 1 << 22, 1<<23 + 1}}, // 21-, 32- and 64-bit lanes
	}
	for round := range rounds {
		for ci, c := range configs {
			const length = time.Millisecond
			r, err := NewRolling(c.limit, length, WithSlots(10))
			if err != nil {
				t.Fatal(err)
			}
			w := int64(r.SlotWidth())
			jumps := []int64{int64(laneAlias(r)) * w, int64(r.size()) * w, int64(laneAlias(r)+1) * w}
			var clock, newest atomic.Int64
			clock.Store(start.UnixNano())
			newest.Store(start.UnixNano())
			const goroutines, perG = 8, 3000
			logs := make([][]logged, goroutines)
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(round)*7+uint64(ci), uint64(g)))
					for range perG {
						now := clock.Add(rng.Int64N(w / 4))
						if rng.IntN(30) == 0 {
							now = clock.Add(jumps[rng.IntN(len(jumps))])
						}
						if rng.IntN(5) == 0 {
							now -= rng.Int64N(3 * w) // stale
						}
						for m := newest.Load(); now > m && !newest.CompareAndSwap(m, now); m = newest.Load() {
						}
						at := time.Unix(0, now)
						switch rng.IntN(8) {
						case 0:
							r.RemainingAt(at)
							continue
						case 1:
							for range r.Returns(at) {
							}
							r.ResetAt(at)
							_, _ = r.AvailableAt(at, 1)
							continue
						}
						n := c.amounts[rng.IntN(len(c.amounts))]
						take := r.takeTok
						if g%2 == 0 {
							take = r.acquireTok
						}
						ok, eff, slot := take(at, n)
						if !ok {
							continue
						}
						if rng.IntN(6) == 0 {
							n -= r.refundSlot(slot, n)
						}
						logs[g] = append(logs[g], logged{slot, r.toU(eff), n})
					}
				})
			}
			wg.Wait()
			clearHooks()
			var all []entry
			u := r.toU(time.Unix(0, newest.Load()))
			f := uint64(0)
			if u >= r.length() {
				f = (u - r.length()) / r.g.width
			}
			var held int64
			for _, l := range logs {
				for _, e := range l {
					all = append(all, entry{UnixNano(r.fromU(e.eff, time.UTC)), e.n})
					if e.slot >= f {
						held += e.n
					}
				}
			}
			replay(t, all, int64(length), c.limit)
			now := time.Unix(0, newest.Load())
			if got := r.TakeAt(now, 0, 0, false).Spent; got != held {
				t.Errorf("round %d, limit %d: the window counts %d spent, live admissions hold %d", round, c.limit, got, held)
			}
			if got := r.TakeAt(now.Add(length+3*time.Duration(w)), 0, 0, false).Spent; got != 0 {
				t.Errorf("round %d, limit %d: a window later %d credits are still counted", round, c.limit, got)
			}
			if t.Failed() {
				t.FailNow()
			}
			yieldInHooks()
		}
	}
}
