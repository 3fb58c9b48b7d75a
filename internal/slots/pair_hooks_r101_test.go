//go:build creditgate_testhooks

package slots

import "testing"

// Pair's doc: a count plus concurrent attempts stays below 2^31, so a count
// that reads 2^31 or more can only be a release of a slot not held. With
// weights up to MaxPairCapacity that was no longer so: three such attempts
// in flight at once (each is refused, but only after its add) pushed A's
// count past 2^31, and a sound release of a slot held at that instant read
// "released more than held" and panicked. Weights are now at most
// MaxPairWeight: 64 of the heaviest in flight at once (the test's depth;
// a million would fit) leave a sound release sound.
func TestPairHeavyAttemptsDoNotBreakARelease_r101(t *testing.T) {
	var p Pair
	p.SetCapacityA(5)
	p.SetCapacityB(5)
	if ok, _ := p.TryAcquire(PairA); !ok { // a call of one unit, in flight
		t.Fatal("one unit of 5 refused")
	}
	heavy := uint64(MaxPairWeight) * PairA // a valid delta: never fits a cap of 5
	depth := 0
	var released any
	pairHook = func() {
		// inside the depth-th heavy attempt, between its add and its check
		depth++
		if depth < 64 {
			if ok, _ := p.TryAcquire(heavy); ok {
				t.Error("a delta of MaxPairCapacity admitted under a cap of 5")
			}
			return
		}
		pairHook = nil
		func() {
			defer func() { released = recover() }()
			p.Release(PairA) // the call of one unit ends: it did hold its unit
		}()
	}
	defer func() { pairHook = nil }()
	if ok, _ := p.TryAcquire(heavy); ok {
		t.Error("a delta of MaxPairCapacity admitted under a cap of 5")
	}
	if released != nil {
		t.Errorf("the release of a held unit, beside three refused heavy attempts, panicked: %v", released)
	}
	if a, b := p.Held(); a != 0 || b != 0 {
		t.Errorf("held %d, %d at the end; want 0, 0", a, b)
	}
}

// Five attempts of weight MaxPairCapacity at once carried out of A's half
// into B's: a take of B alone, under a cap it fits, was refused for B's cap
// although no B was held. 64 of the heaviest weight now do not.
func TestPairHeavyAttemptsDoNotTouchB_r101(t *testing.T) {
	var p Pair
	p.SetCapacityA(5)
	p.SetCapacityB(1)
	heavy := uint64(MaxPairWeight) * PairA
	depth := 0
	var okB bool
	pairHook = func() {
		depth++
		if depth < 64 {
			p.TryAcquire(heavy)
			return
		}
		pairHook = nil
		okB, _ = p.TryAcquire(PairB)
	}
	defer func() { pairHook = nil }()
	p.TryAcquire(heavy)
	if !okB {
		t.Error("a take of one B, none held under a cap of 1, refused while heavy takes of A were in flight")
	} else {
		p.Release(PairB)
	}
	if a, b := p.Held(); a != 0 || b != 0 {
		t.Errorf("held %d, %d at the end; want 0, 0", a, b)
	}
}

// A weight past MaxPairWeight panics, as a delta of 0 or a bad which did.
func TestPairWeightBound_r101(t *testing.T) {
	var p Pair
	p.SetCapacityA(MaxPairCapacity)
	for _, d := range []uint64{(MaxPairWeight + 1) * PairA, (MaxPairWeight + 1) * PairB, uint64(MaxPairCapacity) * PairA} {
		func() {
			defer func() {
				if recover() != errPairDelta {
					t.Errorf("delta %#x: no panic", d)
				}
			}()
			p.TryAcquire(d)
		}()
	}
	if ok, _ := p.TryAcquire(MaxPairWeight * PairA); !ok {
		t.Error("a delta of MaxPairWeight refused under a cap of MaxPairCapacity")
	}
}
