package window

// Issue #17: the ring's slot words are 32 bits wide ("narrow"), and an
// amount that does not fit one goes to a ring of 64-bit ("wide") words
// allocated only then. These tests hold the window exact, against the
// reference log, with amounts on both sides of a narrow word's capacity.

import (
	"math/bits"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// narrowCapOf is the most credits a narrow word of r's ring holds, as the
// design fixes it: a tag of T bits, 2^T > 4·words (at least 9 bits), and
// the amount in the other 32-T.
func narrowCapOf(r *Rolling) int64 {
	T := max(bits.Len64(4*r.words()), 9)
	return 1<<(32-T) - 1
}

// wideOps is randomOpsLimits with counts drawn around a narrow word's
// capacity (one below, at, one above, twice it) as often as at random, so
// that slots fill narrow words, overflow into wide ones, and share an index
// with a slot in the other ring; limits are raised (to MaxLimit among
// others) while narrow words hold credits, and lowered.
func wideOps(rng *rand.Rand, count int, W time.Duration, limit, capN int64) []op {
	return drawNear(rng, randomOpsLimits(rng, count, W, limit), limit, 2, []int64{1, capN - 1, capN, capN + 1, 2*capN + 1, capN / 3})
}

// drawNear sets the count of one op in oneIn (a limit change and a clock
// step excepted) to one of near, drawn at random, or, where that is above
// the limit in force and the op is not a charge, to a count that fits: the
// reference tests' way of aiming amounts at a word's capacity.
func drawNear(rng *rand.Rand, ops []op, limit int64, oneIn int, near []int64) []op {
	lim := limit
	for i := range ops {
		o := &ops[i]
		if o.action == 6 {
			lim = o.n
			continue
		}
		if o.action == 7 || rng.IntN(oneIn) == 0 {
			continue
		}
		if o.n = near[rng.IntN(len(near))]; o.n > lim && o.action != 3 {
			o.n = 1 + rng.Int64N(lim)
		}
	}
	return ops
}

// TestRollingAgainstReferenceWide: the reference test (exact decisions,
// refunds, RemainingAt, Returns, ResetAt, no interval over the limit) with
// limits from below a narrow word's capacity to MaxLimit, at the default
// geometry (23-bit amounts), at MaxSlots (13-bit amounts) and at small
// rings, starting both below the capacity (so narrow words hold credits
// when a limit is raised) and above it.
func TestRollingAgainstReferenceWide(t *testing.T) {
	configs := []struct {
		limit  int64
		length time.Duration
		slots  int
		seeds  int
	}{
		{1000, 24 * time.Hour, DefaultSlots, 20},
		{20_000_000, 24 * time.Hour, DefaultSlots, 20},
		{MaxLimit, 24 * time.Hour, DefaultSlots, 10},
		{20_000_000, 10 * time.Second, 7, 20},
		{20_000_000, 10 * time.Second, 1, 20},
		{3000, time.Second, 3, 20},
		{20_000, time.Hour, MaxSlots, 2},
		{5000, 7 * time.Nanosecond, 3, 20},
	}
	for ci, c := range configs {
		for seed := range c.seeds {
			rng := rand.New(rand.NewPCG(uint64(ci)+1700, uint64(seed)))
			r, err := NewRolling(c.limit, c.length, WithSlots(c.slots))
			if err != nil {
				t.Fatal(err)
			}
			runOps(t, r, wideOps(rng, 400, c.length, c.limit, narrowCapOf(r)))
		}
	}
}

// TestNarrowFormat: a narrow word's tag has T bits with 2^T > 4·words (the
// bound narrowFormat derives), at least 9; the default day's 96 words get
// T = 9 and 23-bit amounts, MaxSlots' 65,536 words (the most:
// words <= slots) T = 19 and 13-bit ones.
// An amount of exactly the capacity stays narrow; one more allocates the
// wide ring.
func TestNarrowFormat(t *testing.T) {
	for _, c := range []struct {
		length      time.Duration
		slots       int
		words       uint64
		tag, amount uint8
	}{
		{24 * time.Hour, DefaultSlots, 96, 9, 23},
		{time.Hour, MaxSlots, MaxSlots, 19, 13},
		{10 * time.Second, 7, 7, 9, 23},
		{10 * time.Second, 1, 1, 9, 23},
	} {
		r := must(NewRolling(MaxLimit, c.length, WithSlots(c.slots)))
		f := r.g.narrow
		T := 32 - f.amountBits
		if r.words() != c.words || T != c.tag || f.amountBits != c.amount || f.tagMask != 1<<T-1 {
			t.Fatalf("W %v, %d slots: %d words, format %+v; want %d words, T %d, %d-bit amounts", c.length, c.slots, r.words(), f, c.words, c.tag, c.amount)
		}
		if uint64(1)<<T <= 4*r.words() || int64(f.capacity()) != narrowCapOf(r) {
			t.Fatalf("W %v, %d slots: 2^%d <= 4·%d, or capacity %d", c.length, c.slots, T, r.words(), f.capacity())
		}
		w := r.g.width
		k := r.toU(start)/w + 1
		at := func(k uint64) time.Time { return r.fromU(k*w, time.UTC) }
		mustTake(t, r, at(k), f.capacity())
		mustTake(t, r, at(k+1), f.capacity()+1) // records k's capacity: narrow
		if !r.RingAllocated() || r.RingWide() {
			t.Fatalf("W %v, %d slots: a wide ring for an amount of the narrow capacity", c.length, c.slots)
		}
		mustTake(t, r, at(k+2), 1) // records k+1's capacity+1: wide
		if !r.RingWide() {
			t.Fatalf("W %v, %d slots: no wide ring after recording capacity+1", c.length, c.slots)
		}
		mustTake(t, r, at(k+3), 1)
		var want int64 // the slots live at k+3: k+3-words on
		for j, n := range []int64{f.capacity(), f.capacity() + 1, 1, 1} {
			if uint64(j)+r.words() >= 3 {
				want += n
			}
		}
		if got := r.TakeAt(at(k+3), 0, 0, false).Spent; got != want {
			t.Fatalf("W %v, %d slots: %d spent, want %d", c.length, c.slots, got, want)
		}
	}
}

// TestRingTiers: a ring's first tier is of 21-bit lanes where their tag
// leaves 8 amount bits (12 for the default day: 4,095 credits), up to
// 2,047 words; a larger ring starts at the 32-bit tier. Every ring ends
// with the 64-bit one, cur's format.
func TestRingTiers(t *testing.T) {
	for _, c := range []struct {
		words  uint64
		small  uint8 // the 21-bit lanes' amount bits, 0 if none
		ntiers int
	}{{96, 12, 3}, {1, 12, 3}, {2047, 8, 3}, {2048, 0, 2}, {MaxSlots, 0, 2}} {
		g := newRingTiers(c.words)
		first := g.tiers[0]
		if g.ntiers != c.ntiers || c.small != 0 && (first.width != 21 || first.lanes != 3 || first.f.amountBits != c.small) ||
			g.tiers[g.ntiers-2].f != narrowFormat(c.words) || g.tiers[g.ntiers-1].f != wideFormat {
			t.Fatalf("%d words: tiers %+v", c.words, g.tiers[:g.ntiers])
		}
		if want := 16 + 8*first.words(c.words); uint64(g.ringType.Size()) != want {
			t.Fatalf("%d words: ring of %d B, want %d", c.words, g.ringType.Size(), want)
		}
	}
}

// TestLaneCAS: goroutines adding to neighbouring lanes of one word, each
// by load and cas as the ring's writers do, lose no update and leave the
// other lanes' bits alone (run with -race).
func TestLaneCAS(t *testing.T) {
	g := newRingTiers(96)
	for _, tr := range g.tiers[:g.ntiers] {
		var word atomic.Uint64
		const adds = 4000 // within a 21-bit lane's 4,095
		var wg sync.WaitGroup
		begin := make(chan struct{})
		for i := range tr.lanes {
			s := tr.lane(&word, tr.lanes, i)
			tag := s.f.tag(uint64(i) + 5)
			for {
				if x := s.load(); s.cas(x, tag<<s.f.amountBits) {
					break
				}
			}
			wg.Go(func() {
				<-begin
				for range adds {
					for {
						if x := s.load(); s.cas(x, x+1) {
							break
						}
					}
				}
			})
		}
		close(begin)
		wg.Wait()
		for i := range tr.lanes {
			s := tr.lane(&word, tr.lanes, i)
			if got := s.amountAt(uint64(i) + 5); got != adds {
				t.Fatalf("%d-bit lane %d: %d, want %d (word %#x)", tr.width, i, got, adds, word.Load())
			}
		}
	}
}

// tierOps is randomOpsLimits with counts drawn around the capacities of
// the ring's first tiers (4,095 and 2^23-1 for the default day) as often as
// at random, so that one ring holds slots in each of its three tiers and
// indexes share a word between lanes of different slots.
func tierOps(rng *rand.Rand, r *Rolling, count int, limit int64) []op {
	ops := randomOpsLimits(rng, count, r.Length(), limit)
	var near []int64
	for _, c := range []int64{4095, r.g.narrow.capacity()} {
		near = append(near, c-1, c, c+1, 2*c+1, c/3)
	}
	return drawNear(rng, ops, limit, 3, near)
}

// TestRollingAgainstReferenceTiers: the reference test with amounts
// crossing a 21-bit lane's 4,095 and a 32-bit lane's 2^23-1 in one ring,
// at the default day and at rings of one to four words (whose lanes share
// a 64-bit word); some run must make every tier.
func TestRollingAgainstReferenceTiers(t *testing.T) {
	configs := []struct {
		limit  int64
		length time.Duration
		slots  int
	}{
		{40_000_000, 24 * time.Hour, DefaultSlots},
		{40_000_000, 10 * time.Second, 3},
		{40_000_000, 10 * time.Second, 2},
		{40_000_000, 10*time.Second + 7, 3},
		{40_000_000, 7, 3},
		{20_000, time.Hour, DefaultSlots},
	}
	for ci, c := range configs {
		narrow, wide := false, false
		for seed := range 20 {
			rng := rand.New(rand.NewPCG(uint64(ci)+2300, uint64(seed)))
			r := must(NewRolling(c.limit, c.length, WithSlots(c.slots)))
			runOps(t, r, tierOps(rng, r, 400, c.limit))
			narrow, wide = narrow || r.RingNarrow(), wide || r.RingWide()
		}
		if !narrow || !wide && c.limit > 1<<23 {
			t.Fatalf("W %v, %d slots: no run made the 32-bit tier (%v) or the 64-bit one (%v)", c.length, c.slots, narrow, wide)
		}
	}
}

// RingBytes counts a tier's words where the limit lets a slot need them
// (more than the tier before holds), or once they exist, and only the
// first tier's otherwise: for a day, 272 B of 21-bit lanes, then 384 of
// 32-bit ones above 4,095 credits, then 768 of 64-bit ones above 2^23-1.
func TestRingBytesCounted(t *testing.T) {
	r, err := NewRolling(1000, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	const small, mid, wide = 16 + 8*32, 8 * 48, 8 * 96
	setLimit := func(l int64) {
		t.Helper()
		if err := r.SetLimit(l); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		limit int64
		want  int
	}{{1000, small}, {4095, small}, {4096, small + mid}, {1<<23 - 1, small + mid}, {1 << 23, small + mid + wide}, {1 << 30, small + mid + wide}} {
		setLimit(c.limit)
		if got := r.RingBytes(); got != c.want {
			t.Fatalf("a day's ring under a limit of %d: %d B, want %d", c.limit, got, c.want)
		}
	}
	t0 := time.Unix(1e9, 0)
	if took := r.ChargeAt(t0, 1<<24); took != 1<<24 { // above a 32-bit lane's 2^23-1
		t.Fatalf("charged %d", took)
	}
	r.ChargeAt(t0.Add(time.Hour), 5000) // rolls the big slot into the 64-bit tier (and makes no 32-bit one)
	setLimit(1000)
	if got, want := r.RingBytes(), small+wide; got != want {
		t.Fatalf("64-bit words made, limit back to 1,000: %d B, want %d", got, want)
	}
	setLimit(1 << 30)
	r.ChargeAt(t0.Add(2*time.Hour), 1) // rolls the 5,000 into the 32-bit tier
	setLimit(1000)
	if got, want := r.RingBytes(), small+mid+wide; got != want {
		t.Fatalf("every tier made, limit 1,000: %d B, want %d", got, want)
	}
}

// TestRollAllocsNothing: once the ring's tiers exist, a roll that records
// a slot in any tier, the sweep that expires one and a refund out of the
// ring allocate nothing (a lane reference is a concrete value, not an
// interface: see slotRef), so an admission that rolls stays allocation
// free.
func TestRollAllocsNothing(t *testing.T) {
	r := must(NewRolling(1<<30, 24*time.Hour))
	at := func(k int) time.Time { return time.Unix(1e9, 0).Add(time.Duration(k) * 15 * time.Minute) }
	amounts := []int64{1 << 24, 5000, 1} // one a tier
	for k := range 4 {
		r.ChargeAt(at(k), amounts[k%3]) // records k-1: every tier made
	}
	k := 4
	n := testing.AllocsPerRun(500, func() {
		r.ChargeAt(at(k), amounts[k%3])
		r.RefundAt(at(k), at(k-1), 1)
		k++
	})
	if n != 0 || !r.RingNarrow() || !r.RingWide() {
		t.Fatalf("%v allocations a roll (32-bit tier %v, 64-bit %v)", n, r.RingNarrow(), r.RingWide())
	}
}
