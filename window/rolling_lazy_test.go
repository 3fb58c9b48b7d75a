package window

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// (Written by review, helper-12, as was TestLazyRingJumpWhileAllocating in
// rolling_hooks_test.go.)

// Fresh windows (no ring yet) hit by concurrent first rolls, jumps of a
// whole ring (help with a nil ring), expiry and refunds: once every slot has
// left, all the credits must be back (none lost in a ring nobody clears),
// and past must be 0.
func TestLazyRingDrains(t *testing.T) {
	for round := range 400 {
		r, _ := NewRolling(50, 10*time.Millisecond, WithSlots(5))
		w := int64(r.SlotWidth())
		var clock atomic.Int64
		clock.Store(start.UnixNano())
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(round), uint64(g)))
				for range 30 {
					var now int64
					switch p := rng.IntN(10); {
					case p < 5:
						now = clock.Add(rng.Int64N(w))
					case p < 7:
						now = clock.Add(int64(rng.IntN(3)) * 10 * w) // a jump of a ring or more
					default:
						now = clock.Load() - rng.Int64N(3*w)
					}
					ok, _, slot := r.takeTok(time.Unix(0, now), 1+rng.Int64N(5))
					if ok && rng.IntN(3) == 0 {
						r.refundSlot(slot, 1)
					}
					if rng.IntN(4) == 0 {
						r.RemainingAt(time.Unix(0, now))
					}
				}
			})
		}
		wg.Wait()
		later := time.Unix(0, clock.Load()).Add(time.Second)
		if got := r.RemainingAt(later); got != 50 {
			t.Fatalf("round %d: %d remaining once every slot left, want 50 (past %d)", round, got, r.past.Load())
		}
		if p := r.past.Load(); p != 0 {
			t.Fatalf("round %d: past %d after draining", round, p)
		}
	}
}
