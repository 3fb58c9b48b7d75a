package window

// Reviewer r115: attacks on the ring's tiers of lanes (g114).

import (
	"math/rand/v2"
	"testing"
	"time"
)

// boundaryOps is aliasOps (steps that make epochs meet in index and
// narrow tag) with counts drawn around every tier's capacity of r's ring
// (the first tier's is 255 at 2,047 words, not tierOps' 4,095), so that
// one word's lanes hold slots of different epochs and tiers.
func boundaryOps(rng *rand.Rand, r *Rolling, count int, limit int64) []op {
	ops := aliasOps(rng, r, count, limit)
	var near []int64
	for j := range r.g.ntiers - 1 {
		c := r.g.tiers[j].f.capacity()
		near = append(near, c-1, c, c+1, 2*c+1, c/3)
	}
	return drawNear(rng, ops, limit, 3, near)
}

// TestRollingAgainstReferenceTierBoundary_r115: the reference model at
// rings of 2,046 to 2,049 words (the last with 21-bit lanes is 2,047),
// rem != 0 too, and tiny rings, with amounts around each tier's capacity.
func TestRollingAgainstReferenceTierBoundary_r115(t *testing.T) {
	configs := []struct {
		length time.Duration
		slots  int
	}{
		{2046 * time.Second, 2046},
		{2047 * time.Second, 2047},
		{2047*time.Second + 1, 2047},
		{2046*time.Second + 1, 2046},
		{2048 * time.Second, 2048},
		{2049 * time.Second, 2049},
		{1, 1}, {2, 1}, {3, 2}, {4, 3}, {5, 3},
		{10*time.Second + 1, 1}, {10*time.Second + 1, 2},
	}
	for ci, c := range configs {
		for seed := range 6 {
			rng := rand.New(rand.NewPCG(uint64(ci)+115_000, uint64(seed)))
			r := must(NewRolling(40_000_000, c.length, WithSlots(c.slots)))
			runOps(t, r, boundaryOps(rng, r, 300, 40_000_000))
		}
	}
}

// TestNeighbourLanesConcurrent_r115: rings of one to four words (lanes of
// one 64-bit word spanning the whole ring) and the 2,047-word boundary,
// hammered by goroutines taking amounts around the first tiers'
// capacities, refunding them, reading and jumping a ring or more ahead,
// so that neighbour lanes of one word hold live and expiring slots while
// they are recorded, expired, refunded and reset. Once every credit has
// come back (three windows later, moving
// the frontier a slot at a time so that sweeps return them), the whole limit must be free again and
// past empty: nothing lost, nothing left counted.
func TestNeighbourLanesConcurrent_r115(t *testing.T) {
	for _, c := range []struct {
		length time.Duration
		slots  int
	}{{8, 1}, {9, 2}, {12, 3}, {16, 4}, {2047 * 4, 2047}} {
		r := must(NewRolling(1<<24, c.length, WithSlots(c.slots)))
		w := int64(r.g.width)
		caps := []int64{r.g.tiers[0].f.capacity(), r.g.tiers[1].f.capacity()}
		base := time.Unix(0, 1<<50)
		done := make(chan int64)
		const G = 4
		for g := range G {
			go func() {
				rng := rand.New(rand.NewPCG(uint64(g), 115))
				var last time.Time
				for i := range 3000 {
					at := base.Add(time.Duration(int64(i)*w/3 + rng.Int64N(2*w)))
					if rng.IntN(50) == 0 {
						at = at.Add(time.Duration(int64(r.words()+1) * w))
					}
					n := caps[rng.IntN(2)] + rng.Int64N(3) - 1
					tk := r.TakeAt(at, n, 0, true)
					if tk.Took > 0 && rng.IntN(2) == 0 {
						r.RefundAt(at, at, rng.Int64N(tk.Took+1))
					}
					r.RemainingAt(at)
					last = at
				}
				done <- last.UnixNano()
			}()
		}
		var end int64
		for range G {
			end = max(end, <-done)
		}
		// Slot by slot, so that sweeps (not a jump's reset) return them.
		later := time.Unix(0, end)
		for range 3 * r.words() {
			later = later.Add(time.Duration(w))
			r.RemainingAt(later)
		}
		if got := r.RemainingAt(later); got != r.Limit() {
			t.Errorf("W %v, %d slots: %d of %d free once every credit is back", c.length, c.slots, got, r.Limit())
		}
		if p := r.past.Load(); p != 0 {
			t.Errorf("W %v, %d slots: past %d once every credit is back", c.length, c.slots, p)
		}
	}
}
