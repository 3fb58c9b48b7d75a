package slots

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/creditgate/creditgate/internal/stripe"
)

// worker runs calls on a goroutine of its own (so on its own stripe, as far
// as its stack decides), one at a time, each to its end before the next.
type worker struct {
	do   chan func()
	done chan struct{}
}

func newWorkers(t *testing.T, n int) []*worker {
	ws := make([]*worker, n)
	for i := range ws {
		w := &worker{do: make(chan func()), done: make(chan struct{})}
		go func() {
			for f := range w.do {
				f()
				w.done <- struct{}{}
			}
		}()
		ws[i] = w
	}
	t.Cleanup(func() {
		for _, w := range ws {
			close(w.do)
		}
	})
	return ws
}

func (w *worker) run(f func()) { w.do <- f; <-w.done }

// A Pair with a cache decides every call as the Pair alone would from the
// slots in use, whatever the cache holds and on whichever stripe calls come:
// a reference model (counts in use and capacities) against random
// sequences of takes, releases of held slots, capacity changes and drains,
// run one at a time on several goroutines. After each step the Pair's
// count, less the cached slots, is the model's.
func TestPairCacheAsModel(t *testing.T) {
	// A new goroutine's stack is 2 KiB and the stripe is its 8 KiB block's
	// (see stripe.Index): six workers can all land in blocks of one
	// stripe, about once in ten runs on a loaded machine. Workers are
	// added until two stripes are covered.
	var ws []*worker
	stripes := map[int]bool{}
	for len(ws) < 6 || len(stripes) < 2 && len(ws) < 64 {
		w := newWorkers(t, 1)[0]
		w.run(func() { stripes[stripe.Index()] = true })
		ws = append(ws, w)
	}
	if len(stripes) < 2 {
		t.Fatalf("%d workers share one stripe: the test would not cover the cache's stripes", len(ws))
	}
	whichs := []uint64{PairA, PairB, PairA | PairB}
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 7))
		var p Pair
		var c PairCache
		capA, capB := int64(r.IntN(4)), int64(r.IntN(3))
		p.SetCapacityA(capA)
		p.SetCapacityB(capB)
		var useA, useB int64
		var held []uint64 // slots in use, as taken
		for step := range 200 {
			w := ws[r.IntN(len(ws))]
			switch op := r.IntN(10); {
			case op < 5:
				which := whichs[r.IntN(3)]
				needA, needB := int64(which&PairA), int64(which>>32)
				want := useA+needA <= capA && useB+needB <= capB
				if needA == 0 {
					want = useB+needB <= capB
				} else if needB == 0 {
					want = useA+needA <= capA
				}
				var ok, refusedA bool
				w.run(func() { ok, refusedA = c.TryAcquire(&p, which) })
				if ok != want {
					t.Fatalf("seed %d step %d: take %#x with %d/%d and %d/%d in use: %v, want %v", seed, step, which, useA, capA, useB, capB, ok, want)
				}
				if !ok && refusedA != (needA != 0 && useA+needA > capA) {
					t.Fatalf("seed %d step %d: refusedA %v with A %d/%d", seed, step, refusedA, useA, capA)
				}
				if ok {
					useA, useB = useA+needA, useB+needB
					held = append(held, which)
				}
			case op < 8 && len(held) > 0:
				i := r.IntN(len(held))
				which := held[i]
				held = append(held[:i], held[i+1:]...)
				w.run(func() { c.Release(&p, which) })
				useA, useB = useA-int64(which&PairA), useB-int64(which>>32)
			case op < 9:
				if r.IntN(2) == 0 {
					capA = int64(r.IntN(4))
					p.SetCapacityA(capA)
				} else {
					capB = int64(r.IntN(3))
					p.SetCapacityB(capB)
				}
				w.run(func() { c.CapacityChanged(&p) })
			default:
				w.run(func() { c.Drain(&p) })
			}
			ha, hb := p.Held()
			ca, cb := c.Cached()
			if ha-ca != useA || hb-cb != useB {
				t.Fatalf("seed %d step %d: held %d,%d less cached %d,%d, want in use %d,%d", seed, step, ha, hb, ca, cb, useA, useB)
			}
		}
		for _, which := range held {
			c.Release(&p, which)
		}
		c.Drain(&p)
		if a, b := p.Held(); a != 0 || b != 0 {
			t.Fatalf("seed %d: %d,%d held once all released and drained", seed, a, b)
		}
	}
}

// Under a lowered capacity, a cached slot lets no call in until the slots
// in use are within it again.
func TestPairCacheLoweredCapacity(t *testing.T) {
	var p Pair
	var c PairCache
	p.SetCapacityA(3)
	for range 3 {
		if ok, _ := c.TryAcquire(&p, PairA); !ok {
			t.Fatal("refused within the capacity")
		}
	}
	p.SetCapacityA(1)
	c.CapacityChanged(&p)
	c.Release(&p, PairA) // 2 in use, over the new capacity of 1
	if ok, _ := c.TryAcquire(&p, PairA); ok {
		t.Fatal("admitted a third call with 2 in use under a capacity of 1")
	}
	c.Release(&p, PairA) // 1 in use: the cache is on again at the next release
	c.Release(&p, PairA) // 0 in use
	if ok, _ := c.TryAcquire(&p, PairA); !ok {
		t.Fatal("refused with 0 in use under a capacity of 1")
	}
	if ok, _ := c.TryAcquire(&p, PairA); ok {
		t.Fatal("admitted a second call under a capacity of 1")
	}
	c.Release(&p, PairA)
	if ok, _ := c.TryAcquire(&p, 0); !ok { // takes nothing, caches nothing
		t.Error("TryAcquire(0) refused")
	}
	for _, bad := range []uint64{1 << 30, PairB << 31} {
		func() {
			defer func() {
				if recover() != errPairDelta {
					t.Errorf("delta %#x: no panic", bad)
				}
			}()
			c.TryAcquire(&p, bad)
		}()
	}
}

// Many goroutines take and give back slots while another lowers and raises
// the capacity: the slots in use never exceed the largest capacity set
// since the call's take, and once all is given back and drained the Pair
// holds nothing.
func TestPairCacheConcurrent(t *testing.T) {
	var p Pair
	var c PairCache
	const top = 4
	p.SetCapacityA(top)
	p.SetCapacityB(top)
	var inUse [2]atomic.Int64 // A, B
	var over atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			which := []uint64{PairA, PairA | PairB, PairB}[g%3]
			for {
				select {
				case <-stop:
					return
				default:
				}
				if ok, _ := c.TryAcquire(&p, which); ok {
					needs := [2]bool{which&PairA != 0, which&PairB != 0}
					for h, need := range needs {
						if need {
							if n := inUse[h].Add(1); n > top {
								over.Store(n)
							}
						}
					}
					for h, need := range needs {
						if need {
							inUse[h].Add(-1)
						}
					}
					c.Release(&p, which)
				}
			}
		})
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		p.SetCapacityA(int64(1 + r.IntN(top)))
		c.CapacityChanged(&p)
	}
	close(stop)
	wg.Wait()
	if n := over.Load(); n != 0 {
		t.Fatalf("%d slots in use at once under a capacity of at most %d", n, top)
	}
	c.Drain(&p)
	if a, b := p.Held(); a != 0 || b != 0 {
		t.Fatalf("%d,%d held once all released and drained", a, b)
	}
}
