//go:build creditgate_testhooks

package slots

import "testing"

// A capacity lowered (and CapacityChanged called) while a take is inside
// Pair.TryAcquire must not leave the cache on with the Pair's count over the
// new capacity: a slot given back would then be cached, and a take that
// starts after the lowering would be admitted past it. CapacityChanged's
// maybeOn reads held then the capacities after its store; TryAcquire must
// add to held before it reads the capacities for one of the two to see the
// other.
func TestPairCacheLoweredDuringTake(t *testing.T) {
	for _, which := range []uint64{PairA, PairB, PairA | PairB} {
		var p Pair
		var c PairCache
		p.SetCapacityA(1)
		p.SetCapacityB(1)
		pairHook = func() {
			pairHook = nil
			p.SetCapacityA(0)
			p.SetCapacityB(0)
			c.CapacityChanged(&p)
		}
		ok, _ := c.TryAcquire(&p, which)
		pairHook = nil
		if ok {
			if a, b := p.Held(); c.state.Load()&1 == 0 {
				t.Errorf("which %#x: cache on with %d, %d held over capacities 0, 0", which, a, b)
			}
			c.Release(&p, which)
		}
		// The capacities have been 0 since before this take began.
		if ok, _ := c.TryAcquire(&p, which); ok {
			t.Errorf("which %#x: a take after the capacities were lowered to 0 is admitted", which)
			c.Release(&p, which)
		}
		c.Drain(&p)
		if a, b := p.Held(); a != 0 || b != 0 {
			t.Errorf("which %#x: %d, %d held at the end", which, a, b)
		}
	}
}
