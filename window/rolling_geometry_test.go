package window

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// geometries are windows at the edges of the limits (quo up to MaxSlots,
// the limit up to MaxLimit) and of the slot arithmetic: W not a
// multiple of the width, one slot, widths of 2 ns (the floor), W shorter
// than a slot (quo 0).
var geometries = []struct {
	limit  int64
	length time.Duration
	slots  int
}{
	{MaxLimit, 24 * time.Hour, MaxSlots},
	{7, 3 * MaxSlots, MaxSlots},      // width 3, quo MaxSlots
	{7, 3*MaxSlots - 1, MaxSlots},    // width 3, quo MaxSlots-1, rem 2
	{3, 2 * MaxSlots, MaxSlots},      // width 2, the floor
	{5, 1, 1},                        // W 1 ns: width 2, quo 0, rem 1
	{5, 5, 16},                       // width 2 (floor), quo 2, rem 1
	{9, 7, 3},                        // width 3, quo 2, rem 1
	{MaxLimit, 10 * time.Second, 1},  // one slot
	{4, 10*time.Second + 1, 3},       // width 3333333334, rem != 0
	{MaxLimit, MaxLength, MaxSlots},  // the largest everything
	{2, MaxLength - 1, MaxSlots - 1}, // odd everything
}

// Length, SlotWidth and the ring follow from W and S alone, whatever the
// limit (and after SetLimit to either end of its range).
func TestRollingGeometry(t *testing.T) {
	for _, g := range geometries {
		r := must(NewRolling(g.limit, g.length, WithSlots(g.slots)))
		W := int64(g.length)
		w := max((W+int64(g.slots)-1)/int64(g.slots), 2)
		size := (W+w-1)/w + 1
		for _, limit := range []int64{g.limit, 1, MaxLimit, g.limit} {
			if err := r.SetLimit(limit); err != nil {
				t.Fatal(err)
			}
			if r.Limit() != limit || int64(r.Length()) != W || int64(r.SlotWidth()) != w || int64(r.RingSize()) != size {
				t.Fatalf("%+v after SetLimit(%d): limit %d length %d width %d ring %d; want %d %d %d %d", g, limit,
					r.Limit(), r.Length(), r.SlotWidth(), r.RingSize(), limit, W, w, size)
			}
		}
		// One credit spent at now comes back at the end of its slot plus W
		// (slots align with the Unix epoch).
		now := start.Add(time.Duration(rand.Int64N(w)))
		if ok, err := r.TryAcquireAt(now, 1); !ok || err != nil {
			t.Fatalf("%+v: take = %v, %v", g, ok, err)
		}
		u := now.UnixNano()
		want := time.Unix(0, (u/w+1)*w+W)
		if got := r.ResetAt(now); !got.Equal(want) {
			t.Fatalf("%+v: ResetAt = %d, want %d", g, got.UnixNano(), want.UnixNano())
		}
		if got, err := r.AvailableAt(now, r.Limit()); err != nil || !got.Equal(want) {
			t.Fatalf("%+v: AvailableAt(limit) = %d, %v; want %d", g, got.UnixNano(), err, want.UnixNano())
		}
		if rem := r.RemainingAt(want.Add(-1)); rem != r.Limit()-1 {
			t.Fatalf("%+v: %d remaining 1 ns before the return, want %d", g, rem, r.Limit()-1)
		}
		if rem := r.RemainingAt(want); rem != r.Limit() {
			t.Fatalf("%+v: %d remaining at the return, want %d", g, rem, r.Limit())
		}
	}
}

// geometryOps is randomOps for any W, down to 1 ns: steps are drawn in
// units of W and of the slot width, so that tiny windows still see every
// kind of step (randomOps draws below W/20).
func geometryOps(rng *rand.Rand, count int, W, width time.Duration, limit int64) []op {
	ops := make([]op, count)
	for i := range ops {
		o := &ops[i]
		switch p := rng.IntN(100); {
		case p < 40:
			o.step = time.Duration(rng.Int64N(int64(width) + 1))
		case p < 70:
			o.step = time.Duration(rng.Int64N(int64(W) + 1))
		case p < 85:
			o.step = -time.Duration(rng.Int64N(int64(W)/4 + 2))
		case p < 88:
			o.step = time.Duration(rng.Int64N(5)) * 24 * time.Hour
		case p < 90:
			o.step = -time.Duration(rng.Int64N(3)) * W
		}
		o.action = uint8(rng.IntN(6))
		o.n = 1 + rng.Int64N(min(limit, 1<<20))
		if rng.IntN(10) == 0 {
			o.n = limit - rng.Int64N(2) // the whole pool, or all but one
		}
		if rng.IntN(20) == 0 {
			o.n = limit + 1
		}
		o.back = time.Duration(rng.Int64N(int64(2*W) + 1))
	}
	return ops
}

// The extreme geometries decide exactly as the reference log.
func TestRollingGeometryAgainstReference(t *testing.T) {
	for gi, g := range geometries {
		seeds := 8
		if g.slots > 1000 {
			seeds = 1 // a ring of 65,537 words: each op walks it (slow under -race)
		}
		for seed := range seeds {
			rng := rand.New(rand.NewPCG(uint64(gi), uint64(seed)))
			r := must(NewRolling(g.limit, g.length, WithSlots(g.slots)))
			runOps(t, r, geometryOps(rng, 300, g.length, r.SlotWidth(), g.limit))
		}
	}
}

// SetLimit racing with takes at MaxSlots: every take sees a limit one of
// the SetLimits stored and quo intact, so no interval of W ever holds more
// than the largest limit, and the geometry survives.
func TestRollingSetLimitRace(t *testing.T) {
	const lo, hi = 3, 40
	r := must(NewRolling(hi, 3*MaxSlots, WithSlots(MaxSlots))) // width 3 ns, quo MaxSlots
	W, width := r.Length(), r.SlotWidth()
	var mu sync.Mutex
	var log []entry
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			now := start
			for i := range 20000 {
				now = now.Add(time.Duration(i%7) * width * 4)
				if ok, eff, _ := r.acquireTok(now, 1+int64(g)); ok {
					mu.Lock()
					log = append(log, entry{eff.UnixNano(), 1 + int64(g)})
					mu.Unlock()
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 20000 {
			_ = r.SetLimit([]int64{lo, hi}[i%2])
		}
	}()
	wg.Wait()
	if r.Length() != W || r.SlotWidth() != width || r.g.quo != MaxSlots {
		t.Fatalf("geometry changed: length %v width %v quo %d", r.Length(), r.SlotWidth(), r.g.quo)
	}
	replay(t, log, int64(W), hi)
}
