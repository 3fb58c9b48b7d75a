package slots

import (
	"math/rand/v2"
	"testing"
)

// TestPairTryAcquireMaskAgrees: TryAcquire's mask form of the capacity
// check decides as the branch form it replaced (a named count over its
// capacity refuses, an unnamed one never does; refusedA says A refused),
// for counts and capacities at and around each other, either over.
func TestPairTryAcquireMaskAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	near := func(c uint64) uint64 { return uint64(max(int64(c)+int64(r.IntN(5))-2, 0)) }
	for i := range 20000 {
		ca, cb := uint64(r.IntN(8)), uint64(r.IntN(8))
		if i%4 == 0 {
			ca, cb = uint64(r.IntN(MaxPairCapacity+1)), uint64(r.IntN(MaxPairCapacity+1))
		}
		ha, hb := near(ca), near(cb)
		which := []uint64{PairA, PairB, PairA | PairB}[r.IntN(3)]
		var p Pair
		p.caps.Store(cb<<32 | ca)
		p.held.Store(hb<<32 | ha)
		h, c := p.held.Load()+which, p.caps.Load()
		overA := uint32(h) > uint32(c) && which&PairA != 0
		overB := h>>32 > c>>32 && which >= PairB
		ok, refusedA := p.TryAcquire(which)
		if ok != !(overA || overB) || refusedA != overA {
			t.Fatalf("held %d/%d caps %d/%d which %#x: TryAcquire = %v, %v; want %v, %v", ha, hb, ca, cb, which, ok, refusedA, !(overA || overB), overA)
		}
		if want := hb<<32 | ha; !ok && p.held.Load() != want || ok && p.held.Load() != want+which {
			t.Fatalf("held %d/%d which %#x ok=%v: held after = %#x", ha, hb, which, ok, p.held.Load())
		}
	}
}
