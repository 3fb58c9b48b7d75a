package window

// Reviewer r110: attacks on the ring of 32-bit slot words (c107).

import (
	"math/rand/v2"
	"testing"
	"time"
)

// aliasOps is wideOps with steps that are chosen multiples of the slot
// width: 1, words-1, words, words+1 (= size), 2^(T-1), 2^T, 2^T·words and
// their neighbours, backwards too, so that epochs sharing an index and a
// narrow tag meet, after long idle periods and exact jumps of a ring.
func aliasOps(rng *rand.Rand, r *Rolling, count int, limit int64) []op {
	capN := r.g.narrow.capacity()
	ops := wideOps(rng, count, r.Length(), limit, capN)
	n := int64(r.words())
	T := int64(32 - r.g.narrow.amountBits)
	w := time.Duration(r.g.width)
	mults := []int64{1, 2, n - 1, n, n + 1, n + 2, 2 * n, 2*n + 1, 1 << (T - 1), 1<<(T-1) + 1, 1 << T, 1<<T - 1, 1<<T + 1, (1 << T) * n, (1<<T)*n - 1, (1<<T)*n + 1, 3 * n}
	for i := range ops {
		o := &ops[i]
		switch rng.IntN(4) {
		case 0:
			o.step = time.Duration(mults[rng.IntN(len(mults))]) * w
		case 1:
			o.step = time.Duration(mults[rng.IntN(len(mults))])*w + time.Duration(rng.Int64N(int64(w)))
		case 2:
			o.step = -time.Duration(rng.Int64N(3*n+1)) * w
		}
		if o.action == 3 && rng.IntN(2) == 0 {
			o.back = time.Duration(rng.Int64N(2*n+2)) * w
		}
	}
	return ops
}

// TestRollingAgainstReferenceAlias_r110: the reference test with amounts
// around a narrow word's capacity, and time stepping by multiples of the
// slot width that make epochs alias in index and narrow tag, at tiny
// geometries (1, 2, 3 slots; W of 1 to 7 ns), rem != 0 ones, the default
// day and MaxSlots.
func TestRollingAgainstReferenceAlias_r110(t *testing.T) {
	configs := []struct {
		limit  int64
		length time.Duration
		slots  int
		seeds  int
	}{
		{40_000_000, 1, 1, 20},
		{40_000_000, 2, 1, 20},
		{40_000_000, 3, 2, 20},
		{40_000_000, 5, 2, 20},
		{40_000_000, 7, 3, 20},
		{40_000_000, 10 * time.Second, 1, 20},
		{40_000_000, 10 * time.Second, 2, 20},
		{40_000_000, 10 * time.Second, 3, 20},
		{40_000_000, 10*time.Second + 1, 3, 20},
		{40_000_000, 10*time.Second + 7, 7, 20},
		{40_000_000, 24 * time.Hour, DefaultSlots, 10},
		{40_000_000, 24*time.Hour + 1, DefaultSlots, 10},
		{MaxLimit, 24 * time.Hour, DefaultSlots, 5},
		{40_000, time.Hour, MaxSlots, 2},
		{40_000, time.Hour + 3, MaxSlots, 2},
		{40_000, 3*MaxSlots + 1, MaxSlots, 2},
	}
	for ci, c := range configs {
		for seed := range c.seeds {
			rng := rand.New(rand.NewPCG(uint64(ci)+110_000, uint64(seed)))
			r, err := NewRolling(c.limit, c.length, WithSlots(c.slots))
			if err != nil {
				t.Fatal(err)
			}
			runOps(t, r, aliasOps(rng, r, 400, c.limit))
		}
	}
}
