//go:build creditgate_testhooks

package window

import (
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRollingStressJumps is TestRollingStress with a jump every thirty
// calls or so, each of laneAlias slots (after which every slot lands on the
// ring lane and tag of the slot one jump before), and every hook yielding
// the processor one time in four, so that goroutines stall across jumps
// between loading a ring word and swapping it. When a jump reset the ring
// in place, such a swap found the value it loaded written again by a slot
// after the jump and took that slot's credits: 29 of 200 rounds
// over-admitted at -cpu 2. CREDITGATE_STRESS_ROUNDS sets the rounds
// (default 20).
func TestRollingStressJumps(t *testing.T) {
	rounds := stressRounds(t, 20)
	defer clearHooks()
	yieldInHooks()
	for round := range rounds {
		const limit, length = 10, time.Millisecond
		r, err := NewRolling(limit, length, WithSlots(10))
		if err != nil {
			t.Fatal(err)
		}
		w := int64(r.SlotWidth())
		jump := int64(laneAlias(r)) * w
		var clock atomic.Int64
		clock.Store(start.UnixNano())
		const goroutines, perG = 8, 4000
		logs := make([][]entry, goroutines)
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(round), uint64(g)))
				for range perG {
					now := clock.Add(rng.Int64N(w / 4))
					if rng.IntN(30) == 0 {
						now = clock.Add(jump)
					}
					if rng.IntN(5) == 0 {
						now -= rng.Int64N(3 * w) // stale
					}
					n := 1 + rng.Int64N(3)
					take := r.takeTok
					if g%2 == 0 {
						take = r.acquireTok // TryAcquireAt's fast path first
					}
					ok, eff, slot := take(time.Unix(0, now), n)
					if !ok {
						continue
					}
					if rng.IntN(8) == 0 {
						n -= r.refundSlot(slot, n)
					}
					if n > 0 {
						logs[g] = append(logs[g], entry{eff.UnixNano(), n})
					}
				}
			})
		}
		wg.Wait()
		var all []entry
		for _, l := range logs {
			all = append(all, l...)
		}
		replay(t, all, int64(length), limit)
		if t.Failed() {
			t.Fatalf("round %d", round)
		}
	}
}

// stressRounds is CREDITGATE_STRESS_ROUNDS, def if unset.
func stressRounds(t *testing.T, def int) int {
	s := os.Getenv("CREDITGATE_STRESS_ROUNDS")
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("CREDITGATE_STRESS_ROUNDS=%q: not a positive count", s)
	}
	return n
}

// yieldInHooks sets every hook of a step on the window's words to yield
// the processor one time in four (clearHooks undoes it).
func yieldInHooks() {
	yield := func() {
		if rand.IntN(4) == 0 {
			runtime.Gosched()
		}
	}
	takeHook, loadHook, rollHook, slotHook, sweepHook, refundHook, wordHook, ringHook, queryHook = yield, yield, yield, yield, yield, yield, yield, yield, yield
	drainHook = func(int64) { yield() }
}
