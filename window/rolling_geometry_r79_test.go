package window

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// checkGeometry checks r's geometry against its length W and slot count S.
func checkGeometry(t *testing.T, r *Rolling, W time.Duration, S int) {
	t.Helper()
	w := slotWidth(uint64(W), uint64(S))
	want := geometry{width: w, quo: uint64(W) / w, rem: uint64(W) % w, skew: signBit % w}
	// The ring's tiers and type follow from its word count (see
	// TestNarrowFormat).
	want.ringTiers = newRingTiers(want.size() - 1)
	if *r.g != want || r.Length() != W || r.SlotWidth() != time.Duration(w) {
		t.Fatalf("W %v, %d slots: geometry %+v, want %+v", W, S, *r.g, want)
	}
}

// TestGeometryInternBounded (holds on 16ed70b): windows of more distinct
// lengths and slot counts than the table holds, made concurrently (under
// -race) with windows of a few shared geometries, each get the geometry
// their length and slot count fix; the table stays at maxGeometryCache;
// windows of one cached geometry share it; windows past the bound decide
// as the reference log; and no take, refund, roll or SetLimit writes a
// shared geometry.
func TestGeometryInternBounded(t *testing.T) {
	slotCounts := []int{1, 7, DefaultSlots, MaxSlots}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 400 {
				S := slotCounts[i%len(slotCounts)]
				W := time.Duration(1_000_003+g*400+i) * time.Millisecond // distinct per goroutine
				checkGeometry(t, must(NewRolling(5, W, WithSlots(S))), W, S)
				shared := time.Duration(1+i%3) * time.Hour
				var h struct {
					_ [64]byte
					r Rolling
				}
				if err := initRolling(&h.r, 5, shared, S); err != nil {
					t.Error(err)
					return
				}
				checkGeometry(t, &h.r, shared, S)
			}
		}()
	}
	wg.Wait()
	geometryCache.Lock()
	n := len(geometryCache.m)
	geometryCache.Unlock()
	if n > maxGeometryCache {
		t.Fatalf("%d geometries interned, more than %d", n, maxGeometryCache)
	}
	a, b := must(NewRolling(1, time.Hour, WithSlots(7))), must(NewRolling(9, time.Hour, WithSlots(7)))
	if a.g != b.g {
		t.Fatal("two windows of one cached geometry do not share it")
	}
	// Past the bound (the table is full by now): a window of its own, as
	// right as a shared one.
	for gi, x := range []struct {
		W time.Duration
		S int
	}{{3*time.Minute + 7, 11}, {97 * time.Millisecond, 3}} {
		r := must(NewRolling(20, x.W, WithSlots(x.S)))
		checkGeometry(t, r, x.W, x.S)
		rng := rand.New(rand.NewPCG(uint64(gi), 79))
		runOps(t, r, geometryOps(rng, 300, x.W, r.SlotWidth(), 20))
	}
	before := *a.g
	c := must(NewRolling(20, time.Hour, WithSlots(7)))
	rng := rand.New(rand.NewPCG(7, 79))
	runOps(t, c, geometryOps(rng, 300, time.Hour, c.SlotWidth(), 20))
	if err := b.SetLimit(3); err != nil {
		t.Fatal(err)
	}
	// c's geometry is a's, or (if a new one since took the place of a's in
	// the full table: TestGeometrySharedAfterTableFills) an equal one.
	if *c.g != before || *a.g != before || *b.g != before {
		t.Fatalf("a shared geometry was written: %+v and %+v, was %+v", *a.g, *c.g, before)
	}
}
