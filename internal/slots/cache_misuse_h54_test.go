package slots

import "testing"

// A release of a slot not held goes unseen while the cache is on: it is
// cached without reading the Pair's word, and a take then uses it. Pair's
// own Release would panic; the cache's catches it only when a drain gives
// it back to a Pair that holds none (as its doc now says). This documents
// the limit of the guard: callers must give back only what they took.
func TestPairCacheReleaseNotHeld(t *testing.T) {
	var p Pair
	var c PairCache
	p.SetCapacityA(1)
	ws := newWorkers(t, 1)
	ws[0].run(func() { c.Release(&p, PairA) }) // nothing held: no panic
	var first, second bool
	ws[0].run(func() {
		first, _ = c.TryAcquire(&p, PairA) // the phantom slot
		second, _ = c.TryAcquire(&p, PairA)
	})
	if !first || !second {
		t.Fatalf("takes after a release not held: %v, %v", first, second)
	}
	ws[0].run(func() { c.Release(&p, PairA) })
	ws[0].run(func() { c.Release(&p, PairA) })
	defer func() {
		if recover() != errReleasedMore {
			t.Fatal("a drain of a slot never held did not panic")
		}
	}()
	c.Drain(&p) // one slot cached, one counted: the cache gives back two
}
