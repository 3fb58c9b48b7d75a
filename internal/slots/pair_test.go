package slots

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPairTryAcquireRelease(t *testing.T) {
	var p Pair
	p.SetCapacityA(2)
	p.SetCapacityB(1)
	held := func(a, b int64) {
		t.Helper()
		ga, gb := p.Held()
		assert.Equal(t, [2]int64{a, b}, [2]int64{ga, gb})
	}
	ok, _ := p.TryAcquire(PairA | PairB)
	assert.True(t, ok)
	ok, refusedA := p.TryAcquire(PairA | PairB)
	assert.False(t, ok)
	assert.False(t, refusedA, "A has room (1 of 2): B refused")
	held(1, 1)
	ok, _ = p.TryAcquire(PairA)
	assert.True(t, ok, "A alone still fits")
	ok, refusedA = p.TryAcquire(PairA | PairB)
	assert.False(t, ok)
	assert.True(t, refusedA, "both full: A is named first")
	ok, refusedA = p.TryAcquire(PairA)
	assert.True(t, !ok && refusedA)
	held(2, 1)
	p.Release(PairA | PairB)
	held(1, 0)
	ok, _ = p.TryAcquire(PairB)
	assert.True(t, ok)
	p.Release(PairB)
	p.Release(PairA)
	held(0, 0)

	assert.PanicsWithValue(t, errReleasedMore, func() { p.Release(PairA) }, "A below zero would borrow from B")
	assert.PanicsWithValue(t, errReleasedMore, func() { p.Release(PairB) })
	held(0, 0)
	ok, _ = p.TryAcquire(PairB)
	assert.True(t, ok)
	assert.PanicsWithValue(t, errReleasedMore, func() { p.Release(PairA | PairB) }, "A not held")
	held(0, 1)
	for _, bad := range []uint64{1 << 30, 1 << 31, PairB << 30, PairA | PairB<<31, (MaxPairCapacity + 1) * PairB} {
		assert.PanicsWithValue(t, errPairDelta, func() { p.TryAcquire(bad) })
		assert.PanicsWithValue(t, errPairDelta, func() { p.Release(bad) })
	}
	ok, _ = p.TryAcquire(0) // takes nothing, as Slots.TryAcquire(0)
	assert.True(t, ok)
	p.Release(0)
	held(0, 1)

	var zero Pair
	ok, refusedA = zero.TryAcquire(PairB)
	assert.True(t, !ok && !refusedA, "the zero value has capacities 0")
	zero.SetCapacityA(1 << 62)
	zero.SetCapacityB(-5)
	a, b := zero.Capacity()
	assert.Equal(t, [2]int64{MaxPairCapacity, 0}, [2]int64{a, b}, "clamped, each without touching the other")
}

// A lowered capacity keeps what is held and admits nothing new until the
// count is back under it, for each count independently.
func TestPairSetCapacity(t *testing.T) {
	var p Pair
	p.SetCapacityA(3)
	p.SetCapacityB(3)
	for range 3 {
		ok, _ := p.TryAcquire(PairA | PairB)
		assert.True(t, ok)
	}
	p.SetCapacityB(1)
	p.Release(PairA | PairB)
	ok, refusedA := p.TryAcquire(PairA | PairB)
	assert.True(t, !ok && !refusedA, "B holds 2 at capacity 1")
	ok, _ = p.TryAcquire(PairA)
	assert.True(t, ok, "A is unchanged")
	a, b := p.Capacity()
	assert.Equal(t, [2]int64{3, 1}, [2]int64{a, b})
}

// TestPairModelConcurrent: goroutines take A, B or both and give them back
// while both capacities churn; what they believe they hold of each count
// never exceeds the largest capacity in force, and everything ends at 0.
func TestPairModelConcurrent(t *testing.T) {
	const maxA, maxB = 6, 3
	var p Pair
	p.SetCapacityA(maxA)
	p.SetCapacityB(maxB)
	var heldA, heldB atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p.SetCapacityA(int64(maxA - 3*(i%2)))
			p.SetCapacityB(int64(maxB - 2*(i%3%2)))
			runtime.Gosched()
		}
	})
	var workers sync.WaitGroup
	for g := range 8 {
		workers.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 5))
			for range 3000 {
				which := []uint64{PairA, PairB, PairA | PairB}[rng.IntN(3)]
				if ok, _ := p.TryAcquire(which); !ok {
					continue
				}
				a, b := int64(which&PairA), int64(which>>32)
				if h := heldA.Add(a); h > maxA {
					t.Errorf("A: %d held > %d", h, maxA)
				}
				if h := heldB.Add(b); h > maxB {
					t.Errorf("B: %d held > %d", h, maxB)
				}
				runtime.Gosched()
				heldA.Add(-a)
				heldB.Add(-b)
				p.Release(which)
			}
		})
	}
	workers.Wait()
	close(stop)
	wg.Wait()
	a, b := p.Held()
	assert.Equal(t, [2]int64{0, 0}, [2]int64{a, b})
}

// TestPairModelSequential compares TryAcquire's answer and refusal reason,
// Release and capacity changes (lowered below what is held too) with a
// model of two counts, over random sequences: a refusal names the count
// that refused.
func TestPairModelSequential(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	whichOf := []uint64{PairA, PairB, PairA | PairB}
	for seq := range 300 {
		var p Pair
		var a, b, capA, capB int64
		var held []uint64
		for step := range 200 {
			switch k := r.IntN(10); {
			case k < 5:
				w := whichOf[r.IntN(3)]
				ok, refA := p.TryAcquire(w)
				fullA := w&PairA != 0 && a+1 > capA
				fullB := w >= PairB && b+1 > capB
				if ok != !(fullA || fullB) || !ok && refA != fullA {
					t.Fatalf("seq %d step %d: TryAcquire(%#x) at A %d/%d B %d/%d = %v, %v", seq, step, w, a, capA, b, capB, ok, refA)
				}
				if ok {
					held = append(held, w)
					a, b = a+int64(w&PairA), b+int64(w>>32)
				}
			case k < 8 && len(held) > 0:
				i := r.IntN(len(held))
				w := held[i]
				held = append(held[:i], held[i+1:]...)
				p.Release(w)
				a, b = a-int64(w&PairA), b-int64(w>>32)
			default:
				n := int64(r.IntN(5))
				if r.IntN(2) == 0 {
					p.SetCapacityA(n)
					capA = n
				} else {
					p.SetCapacityB(n)
					capB = n
				}
			}
			if ga, gb := p.Held(); ga != a || gb != b {
				t.Fatalf("seq %d step %d: held %d/%d, model %d/%d", seq, step, ga, gb, a, b)
			}
		}
	}
}

// A delta may take several units of A (a Zoho composite call takes five
// concurrency units and one sub-concurrency unit): admitted only if the
// units fit, refused by the count short of them, and given back whole.
func TestPairWeights(t *testing.T) {
	var p Pair
	p.SetCapacityA(5)
	p.SetCapacityB(10)
	composite := 5*PairA + PairB
	ok, _ := p.TryAcquire(composite)
	assert.True(t, ok, "five units fit a capacity of five")
	ok, refusedA := p.TryAcquire(PairA)
	assert.True(t, !ok && refusedA, "a sixth unit: refused by A")
	a, b := p.Held()
	assert.Equal(t, [2]int64{5, 1}, [2]int64{a, b})
	p.Release(composite)
	ok, _ = p.TryAcquire(3 * PairA)
	assert.True(t, ok)
	ok, refusedA = p.TryAcquire(composite)
	assert.True(t, !ok && refusedA, "3 held + 5 > 5")
	ok, _ = p.TryAcquire(2*PairA + PairB)
	assert.True(t, ok, "3 held + 2 = 5")
	p.Release(2*PairA + PairB)
	p.Release(3 * PairA)
	ok, refusedA = p.TryAcquire(6*PairA + PairB)
	assert.True(t, !ok && refusedA, "more units than the capacity: never admitted")
	a, b = p.Held()
	assert.Equal(t, [2]int64{0, 0}, [2]int64{a, b}, "a refusal takes nothing")

	// B held over a lowered capacity does not refuse a delta naming only A,
	// however many units it takes.
	ok, _ = p.TryAcquire(PairB)
	assert.True(t, ok)
	p.SetCapacityB(0)
	ok, _ = p.TryAcquire(4 * PairA)
	assert.True(t, ok, "B over its capacity refused a take of A alone")
	ok, refusedA = p.TryAcquire(PairA + PairB)
	assert.True(t, !ok && !refusedA, "B over its capacity: refused by B")
	assert.PanicsWithValue(t, errReleasedMore, func() { p.Release(5 * PairA) }, "4 units held, 5 given back")
	p.Release(4 * PairA)
	p.Release(PairB)
}

// The cache hands a take only what one release gave back whole: a stripe
// holding a composite's units serves a composite, not a one-unit call.
func TestPairCacheWeights(t *testing.T) {
	var p Pair
	var c PairCache
	p.SetCapacityA(5)
	p.SetCapacityB(10)
	composite := 5*PairA + PairB
	ok, _ := c.TryAcquire(&p, composite)
	assert.True(t, ok)
	c.Release(&p, composite)
	a, b := c.Cached()
	assert.Equal(t, [2]int64{5, 1}, [2]int64{a, b}, "the stripe keeps the composite's units")
	ok, _ = c.TryAcquire(&p, PairA)
	assert.True(t, ok, "refused while the units were only cached (the refusal drains)")
	ok, refusedA := c.TryAcquire(&p, composite)
	assert.True(t, !ok && refusedA, "one unit in use + 5 > 5")
	c.Release(&p, PairA)
	c.Drain(&p)
	a, b = p.Held()
	assert.Equal(t, [2]int64{0, 0}, [2]int64{a, b})
}
