package slots

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

// TestPairCachePhases runs goroutines that take and give back slots at once
// (in phases, each with fixed capacities), holding some across phases,
// while capacities are lowered and raised between phases (CapacityChanged)
// with slots held beyond them: no take is admitted that would put more in
// use than a capacity, and at the end of each phase the Pair's counts less
// the cached slots are exactly those in use.
func TestPairCachePhases(t *testing.T) {
	whichs := []uint64{PairA, PairB, PairA | PairB}
	for seed := range uint64(10) {
		var p Pair
		var c PairCache
		rng := rand.New(rand.NewPCG(seed, 546))
		capA, capB := int64(3), int64(2)
		p.SetCapacityA(capA)
		p.SetCapacityB(capB)
		var useA, useB atomic.Int64 // a lower bound of the slots in use
		const workers = 4
		held := make([][]uint64, workers)
		for phase := range 150 {
			var wg sync.WaitGroup
			for g := range workers {
				r := rand.New(rand.NewPCG(seed*1000+uint64(phase), uint64(g)))
				wg.Go(func() {
					for range 30 {
						if len(held[g]) > 0 && r.IntN(2) == 0 {
							i := r.IntN(len(held[g]))
							which := held[g][i]
							held[g] = append(held[g][:i], held[g][i+1:]...)
							useA.Add(-int64(which & PairA))
							useB.Add(-int64(which >> 32))
							c.Release(&p, which)
							continue
						}
						which := whichs[r.IntN(3)]
						if ok, _ := c.TryAcquire(&p, which); ok {
							a, b := useA.Add(int64(which&PairA)), useB.Add(int64(which>>32))
							if which&PairA != 0 && a > capA || which&PairB != 0 && b > capB {
								t.Errorf("seed %d phase %d: %d, %d in use under capacities %d, %d", seed, phase, a, b, capA, capB)
							}
							held[g] = append(held[g], which)
						}
					}
				})
			}
			wg.Wait()
			ha, hb := p.Held()
			ca, cb := c.Cached()
			if ha-ca != useA.Load() || hb-cb != useB.Load() {
				t.Fatalf("seed %d phase %d: held %d,%d less cached %d,%d, in use %d,%d", seed, phase, ha, hb, ca, cb, useA.Load(), useB.Load())
			}
			if t.Failed() {
				return
			}
			capA, capB = rng.Int64N(5), rng.Int64N(4)
			p.SetCapacityA(capA)
			p.SetCapacityB(capB)
			c.CapacityChanged(&p)
		}
		for g := range workers {
			for _, which := range held[g] {
				c.Release(&p, which)
			}
		}
		c.Drain(&p)
		if a, b := p.Held(); a != 0 || b != 0 {
			t.Fatalf("seed %d: %d,%d held at the end", seed, a, b)
		}
	}
}
