package window

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRingR99Stress races goroutines on windows of few, tiny slots whose
// shared clock moves by whole slots around the ring's edges (size-2, size-1,
// size and size+1 slots), with stale callers, refunds and queries. Queries
// must never see more than what transient double counts explain (the limit
// is never lowered, so nothing is ever spent past it); once all are done the window must count
// exactly the credits of the slots at or past the newest frontier, list them
// exactly in Returns, and no interval of W may hold more than the limit.
func TestRingR99Stress(t *testing.T) {
	for gi, g := range ringGeoms {
		ringStress(t, gi, g)
	}
}

// TestLaneNeighbourStress (issue #17): TestRingR99Stress on rings of one to
// four words (every lane of a tier in one or two 64-bit words), with
// amounts up to limits above a 21-bit lane's 4,095 and a 32-bit lane's
// 2^23-1, so that slots in neighbouring lanes of one word are recorded,
// expired, dropped, reset and refunded at once.
func TestLaneNeighbourStress(t *testing.T) {
	for gi, g := range []ringGeom{
		{12_000, 10 * time.Second, 3}, // 3 words: one word of 21-bit lanes
		{12_000, 10 * time.Second, 2},
		{12_000, 11, 5}, // 3 ns slots: 4 words
		{12_000, 7, 3},
		{40_000_000, 10 * time.Second, 3},
		{40_000_000, 10*time.Second + 1, 3},
	} {
		ringStress(t, gi+100, g)
	}
}

// ringStress is TestRingR99Stress's run on one geometry.
func ringStress(t *testing.T, gi int, g ringGeom) {
	r, err := NewRolling(g.limit, g.length, WithSlots(g.slots))
	if err != nil {
		t.Fatal(err)
	}
	w, size := r.g.width, r.size()
	var clock, newest atomic.Uint64
	clock.Store(r.toU(start))
	newest.Store(r.toU(start))
	const goroutines, perG = 4, 3000
	type rec struct {
		slot, eff uint64
		n         int64
	}
	logs := make([][]rec, goroutines)
	var bad atomic.Value
	var wg sync.WaitGroup
	for gr := range goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(gi), uint64(gr)))
			var log []rec
			for range perG {
				u := clock.Load()
				switch rng.IntN(8) {
				case 0:
					ks := []uint64{1, size - 2, size - 1, size, size + 1}
					u = clock.Add(ks[rng.IntN(len(ks))]*w + rng.Uint64N(2))
				case 1:
					u -= min(u, rng.Uint64N(size*w)) // stale
				}
				for m := newest.Load(); u > m && !newest.CompareAndSwap(m, u); m = newest.Load() {
				}
				now := r.fromU(u, time.UTC)
				switch rng.IntN(4) {
				case 0:
					// A roll in flight is counted in past and in cur (each
					// racing roll a limit's worth more), and Returns may count
					// credits moving between words, or taken while it reads
					// them, once more (documented): bounded by the slots.
					if s := r.TakeAt(now, 0, 0, false).Spent; s > (goroutines+1)*g.limit {
						bad.Store(fmt.Sprintf("a query counts %d spent, limit %d", s, g.limit))
					}
					var sum int64
					for _, n := range r.Returns(now) {
						sum += n
					}
					if sum > int64(size+1)*g.limit {
						bad.Store(fmt.Sprintf("Returns lists %d spent, limit %d", sum, g.limit))
					}
				default:
					n := 1 + rng.Int64N(g.limit)
					take := r.takeTok
					if gr%2 == 0 {
						take = r.acquireTok
					}
					ok, eff, slot := take(now, n)
					if !ok {
						continue
					}
					if rng.IntN(6) == 0 {
						n -= r.refundSlot(slot, n)
					}
					log = append(log, rec{slot, r.toU(eff), n})
				}
			}
			logs[gr] = log
		})
	}
	wg.Wait()
	if b := bad.Load(); b != nil {
		t.Fatalf("W=%v S=%d: %s", g.length, g.slots, b)
	}
	u := newest.Load()
	now := r.fromU(u, time.UTC)
	f := (u - r.length()) / w
	per := map[uint64]int64{}
	var held int64
	var all []entry
	for _, l := range logs {
		for _, e := range l {
			if e.slot >= f && e.n != 0 {
				per[e.slot] += e.n
				held += e.n
			}
			if e.n > 0 {
				all = append(all, entry{UnixNano(r.fromU(e.eff, time.UTC)), e.n})
			}
		}
	}
	if got := r.TakeAt(now, 0, 0, false).Spent; got != held {
		t.Fatalf("W=%v S=%d: the window counts %d spent, the admissions of live slots hold %d", g.length, g.slots, got, held)
	}
	var keys []uint64
	for k, n := range per {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var want, got []string
	for _, k := range keys {
		want = append(want, fmt.Sprintf("%d@%d", per[k], r.backU(k)))
	}
	for at, n := range r.Returns(now) {
		got = append(got, fmt.Sprintf("%d@%d", n, r.toU(at)))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("W=%v S=%d: Returns %v, want %v", g.length, g.slots, got, want)
	}
	replay(t, all, int64(r.length()), g.limit)
}
