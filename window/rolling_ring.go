package window

import (
	"math/bits"
	"reflect"
	"sync/atomic"
	"unsafe"
)

// The ring of older slots' words (see Rolling's design note, # State) is
// up to three tiers of words() lanes each, every tier 64-bit words cut into
// lanes: 21-bit lanes, three a word, then 32-bit ones, two a word, then
// 64-bit ones (cur's format). A lane packs a tag of T bits above an amount
// (see laneFormat): a 21-bit lane holds 12-bit amounts (4,095 credits) for
// the default 96 slots, which covers most slots; a 32-bit one 23-bit
// amounts (8.4 M). An amount goes to the first tier it fits, and a tier
// after the first is allocated by the first amount that needs it. The
// first tier is in the ring's one object, after a header of the pointers
// to the others (see slotRing); a ring whose tags leave a 21-bit lane
// fewer than 8 amount bits (more than 2,047 words) starts at the 32-bit
// tier. A slot's credits are in one lane of its index, never split (each
// slot is recorded once); the other lanes of the index may hold other
// slots, live or expired. So every reader sums every tier's lane
// (amountAt), every writer that empties or retires a slot visits each
// (expire, drop, help), and a refund takes from each in turn.

// wordFormat is how a lane packs a slot's tag (its epoch modulo 2^T) above
// the credits recorded for it.
type wordFormat struct {
	amountBits uint8
	tagMask    uint64
}

// wideFormat is the format of the 64-bit lanes, cur's.
var wideFormat = wordFormat{amountBits, tagMask}

// minNarrowTag is the least T a lane narrower than 64 bits gets: the
// default ring's (below), so that a smaller ring's lanes hold amounts as
// large and their tags cycle only every 512 slots (see the tagged
// compare-and-swap's assumption in Rolling's design note).
const minNarrowTag = 9

// minSmallAmount is the fewest amount bits for which a ring has a 21-bit
// tier: below 8, its lanes would hold too little to spare the 32-bit tier.
const minSmallAmount = 8

// laneTag is the tag width T of a ring of n words' lanes narrower than 64
// bits. Tags must tell apart every two epochs the protocol compares. A
// lane holding credits holds an epoch in [h-2n, h+n-1] for the current
// frontier h: at most h+n-1 since it was recorded older than a cur slot of
// a frontier <= h (see words); at least h-2n since the sweep that moves
// the frontier past an epoch empties its lane, and a sweeper stalled
// before it does leaves it to the next sweep of the same index, one ring
// later, by when the frontier has moved at most size-1 = n slots past the
// ring's turn. (Two sweeps of one index each stalled for a ring are
// assumed away, as the compare-and-swap's ABA is.) expire orders a lane's
// epoch against h by the signed difference modulo 2^T, exact while it lies
// in (-2^(T-1), 2^(T-1)): 2^(T-1) > 2n, that is 2^T > 4n, which also keeps
// the equality tests (record, drop, refund, amountAt) between epochs of
// the range exact. For the default 96 words T = 9, for MaxSlots T = 19.
func laneTag(n uint64) int { return max(bits.Len64(4*n), minNarrowTag) }

// laneFormat is the format of a ring of n words' lanes of the given width.
func laneFormat(n uint64, width int) wordFormat {
	T := laneTag(n)
	return wordFormat{uint8(width - T), 1<<T - 1}
}

// narrowFormat is the format of a ring of n words' 32-bit lanes: 23-bit
// amounts for the default 96 words, 13-bit ones at MaxSlots.
func narrowFormat(n uint64) wordFormat { return laneFormat(n, 32) }

func (f wordFormat) tag(epoch uint64) uint64 { return epoch & f.tagMask }
func (f wordFormat) tagOf(x uint64) uint64   { return x >> f.amountBits }
func (f wordFormat) amount(x uint64) int64   { return int64(x & (1<<f.amountBits - 1)) }
func (f wordFormat) capacity() int64         { return 1<<f.amountBits - 1 }

// expired reports whether lane tag xt is older than frontier h's tag (see
// laneTag for when this is exact).
func (f wordFormat) expired(xt, h uint64) bool {
	d := (f.tag(h) - xt) & f.tagMask
	return d != 0 && d <= f.tagMask>>1
}

// tier is one tier of the ring: 64-bit words of lanes lanes of width bits
// in format f; words() lanes, so ceil(words()/lanes) words. ptr is the
// header pointer that holds it, -1 for the first tier (the ring's own
// words).
type tier struct {
	f     wordFormat
	lanes uint64
	width uint64
	ptr   int
}

// ringTiers is the geometry's part the ring's layout follows from.
type ringTiers struct {
	// narrow is the format of the 32-bit lanes.
	narrow wordFormat
	tiers  [3]tier
	ntiers int
	// ringType is the type of the ring object: the header, then the first
	// tier's words (see slotRing).
	ringType reflect.Type
}

// newRingTiers lays out a ring of n lanes a tier: 21-bit lanes first if
// their format leaves minSmallAmount amount bits, then 32-bit, then 64-bit.
// For 96 words: a header of two pointers and 32 words of 21-bit lanes,
// 272 bytes (the 288-byte size class; 32-bit lanes took 392, in 416).
func newRingTiers(n uint64) ringTiers {
	t := ringTiers{narrow: narrowFormat(n)}
	if small := laneFormat(n, 21); small.amountBits >= minSmallAmount {
		t.tiers[t.ntiers] = tier{f: small, lanes: 3, width: 21}
		t.ntiers++
	}
	t.tiers[t.ntiers] = tier{f: t.narrow, lanes: 2, width: 32}
	t.ntiers++
	t.tiers[t.ntiers] = tier{f: wideFormat, lanes: 1, width: 64}
	t.ntiers++
	for j := range t.ntiers {
		t.tiers[j].ptr = j + len(slotRing{}.next) - t.ntiers // the last pointers
	}
	t.tiers[0].ptr = -1
	t.ringType = reflect.StructOf([]reflect.StructField{
		{Name: "Next", Type: reflect.ArrayOf(len(slotRing{}.next), reflect.TypeFor[unsafe.Pointer]())},
		{Name: "Words", Type: reflect.ArrayOf(int(t.tiers[0].words(n)), reflect.TypeFor[uint64]())},
	})
	return t
}

// words is how many 64-bit words hold n lanes of tier t.
func (t *tier) words(n uint64) uint64 { return (n + t.lanes - 1) / t.lanes }

// slotRef is one lane: its word, its place in the word and its format.
// Concrete, not an interface, so that making one never allocates (a roll
// does, on an admission).
type slotRef struct {
	p     *atomic.Uint64
	shift uint64
	mask  uint64 // the lane's bits, unshifted
	f     wordFormat
}

// lane returns tier t's lane i of the words starting at p.
func (t *tier) lane(p *atomic.Uint64, n, i uint64) slotRef {
	return slotRef{&unsafe.Slice(p, t.words(n))[i/t.lanes], i % t.lanes * t.width, 1<<t.width - 1, t.f}
}

func (s slotRef) load() uint64 { return s.p.Load() >> s.shift & s.mask }

// cas swaps the lane from old to new if it holds old: a compare-and-swap
// of the whole word, retried while only the other lanes changed, so that
// it fails only as a one-lane swap would.
func (s slotRef) cas(old, new uint64) bool {
	for {
		x := s.p.Load()
		if x>>s.shift&s.mask != old {
			return false
		}
		if s.p.CompareAndSwap(x, x&^(s.mask<<s.shift)|new<<s.shift) {
			return true
		}
	}
}

// amountAt is what the lane holds for slot k: its amount if it is tagged k.
func (s slotRef) amountAt(k uint64) int64 {
	if x := s.load(); s.f.tagOf(x) == s.f.tag(k) {
		return s.f.amount(x)
	}
	return 0
}

// slotRing is the ring's header: the pointers to the tiers after the
// first (the 32-bit tier's then the 64-bit tier's words, nil until needed;
// a ring without a 21-bit tier uses only the second); the first tier's
// words follow it in the same object, made by newRing from a type built
// for their count (ringType), so the collector sees the pointers.
type slotRing struct {
	next [2]atomic.Pointer[atomic.Uint64]
}

func newRing(g *geometry) *slotRing {
	return (*slotRing)(reflect.New(g.ringType).UnsafePointer())
}

// tierWords returns the first word of rg's tier j, nil if it is not allocated.
func (r *Rolling) tierWords(rg *slotRing, j int) *atomic.Uint64 {
	if t := &r.g.tiers[j]; t.ptr >= 0 {
		return rg.next[t.ptr].Load()
	}
	return (*atomic.Uint64)(unsafe.Add(unsafe.Pointer(rg), unsafe.Sizeof(*rg)))
}

// slots returns the lanes of ring index i that exist, first tier first:
// none while the ring is not allocated (every lane then reads as empty,
// and a lane with no credits is inert whatever its tag: nothing expires,
// refunds or counts from it), a later tier's only once it is.
func (r *Rolling) slots(i uint64) (ws [3]slotRef, n int) { return r.slotsIn(r.ring.Load(), i) }

// slotsIn is slots of ring rg, which may no longer be r's (see help).
func (r *Rolling) slotsIn(rg *slotRing, i uint64) (ws [3]slotRef, n int) {
	if rg == nil {
		return ws, 0
	}
	for j := range r.g.ntiers {
		if p := r.tierWords(rg, j); p != nil {
			ws[n] = r.g.tiers[j].lane(p, r.words(), i)
			n++
		}
	}
	return ws, n
}

// ringToWrite is the ring for a writer, allocated first if need be.
func (r *Rolling) ringToWrite() *slotRing {
	return loadOrNew(&r.ring, func() *slotRing { return newRing(r.g) })
}

// laneToWrite is rg's tier j lane i for a writer, the tier allocated
// first if need be.
func (r *Rolling) laneToWrite(rg *slotRing, j int, i uint64) slotRef {
	t := &r.g.tiers[j]
	p := r.tierWords(rg, j)
	if p == nil {
		p = loadOrNew(&rg.next[t.ptr], func() *atomic.Uint64 { return &make([]atomic.Uint64, t.words(r.words()))[0] })
	}
	return t.lane(p, r.words(), i)
}

// loadOrNew returns *p, publishing a new value first if it is nil (the
// first of racing writers publishes; the others use that one). The ring
// pointer goes back to nil when a jump drops the ring (see help), so a
// writer that lost the race may find nil again, and publishes its own.
func loadOrNew[T any](p *atomic.Pointer[T], alloc func() *T) *T {
	if v := p.Load(); v != nil {
		return v
	}
	v := alloc()
	if testHooks && ringHook != nil {
		ringHook()
	}
	for !p.CompareAndSwap(nil, v) {
		if w := p.Load(); w != nil {
			return w
		}
	}
	return v
}

// RingBytes is what r's ring of older slots' words takes once a roll has
// made it (before that it takes nothing; a jump drops it, and a goroutine
// stalled across the jump may keep the old one alive a moment beside the
// next): its first tier's words, and each
// later tier's too if it exists or if the limit lets a slot's amount
// exceed the tier before, which is when a roll may make it. A store
// bounding its memory counts it up front, and again after SetLimit.
func (r *Rolling) RingBytes() int {
	g, n := r.g, r.words()
	b := int(g.ringType.Size())
	rg, limit := r.ring.Load(), r.limit.Load()
	for j := 1; j < g.ntiers; j++ {
		if limit > g.tiers[j-1].f.capacity() || rg != nil && r.tierWords(rg, j) != nil {
			b += 8 * int(g.tiers[j].words(n))
		}
	}
	return b
}
