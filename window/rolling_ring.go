package window

import (
	"math/bits"
	"reflect"
	"sync/atomic"
	"unsafe"
)

// The ring of older slots' words (see Rolling's design note, # State) is
// one object: a header holding a pointer to a ring of 64-bit ("wide")
// words, nil until needed, followed by words() 32-bit ("narrow") words. A
// narrow word packs a tag of T bits above an amount of 32-T: about 23 bits
// (8.4 M credits) for the default 96 slots, where one slot's amount is in
// practice far below that; an amount that does not fit goes to its index's
// wide word (tag and amount as cur's), and the first such amount allocates
// the wide ring. A slot's credits are then in its narrow word or in its
// wide word, never both (each slot is recorded once); the other word of
// the index may hold another slot, live or expired. So every reader sums
// both (amountAt), every writer that empties or retires a slot visits both
// (expire, drop, help), and a refund takes from both.

// wordFormat is how a slot word packs a slot's tag (its epoch modulo 2^T)
// above the credits recorded for it.
type wordFormat struct {
	amountBits uint8
	tagMask    uint64
}

// wideFormat is the format of the 64-bit words, cur's.
var wideFormat = wordFormat{amountBits, tagMask}

// minNarrowTag is the least T a narrow word gets: the default ring's
// (below), so that a smaller ring's words hold amounts as large and their
// tags cycle only every 512 slots (see the tagged compare-and-swap's
// assumption in Rolling's design note).
const minNarrowTag = 9

// narrowFormat is the format of a ring of n narrow words. Tags must tell
// apart every two epochs the protocol compares. A word holding credits
// holds an epoch in [h-2n, h+n-1] for the current frontier h: at most
// h+n-1 since it was recorded older than a cur slot of a frontier <= h (see
// words); at least h-2n since the sweep that moves the frontier past an
// epoch empties its word, and a sweeper stalled before it does leaves it to
// the next sweep of the same index, one ring later, by when the frontier
// has moved at most size-1 = n slots past the ring's turn. (Two sweeps of
// one index each stalled for a ring are assumed away, as the
// compare-and-swap's ABA is.) expire orders a word's epoch against h by
// the signed difference modulo 2^T, exact while it lies in (-2^(T-1),
// 2^(T-1)): 2^(T-1) > 2n, that is 2^T > 4n, which also keeps the equality
// tests (record, drop, refund, amountAt) between epochs of the range exact.
// For the default 96 words T = 9 (amounts up to 2^23-1), for MaxSlots T =
// 19 (amounts up to 8191).
func narrowFormat(n uint64) wordFormat {
	T := max(bits.Len64(4*n), minNarrowTag)
	return wordFormat{uint8(32 - T), 1<<T - 1}
}

func (f wordFormat) tag(epoch uint64) uint64 { return epoch & f.tagMask }
func (f wordFormat) tagOf(x uint64) uint64   { return x >> f.amountBits }
func (f wordFormat) amount(x uint64) int64   { return int64(x & (1<<f.amountBits - 1)) }
func (f wordFormat) capacity() int64         { return 1<<f.amountBits - 1 }

// expired reports whether word tag xt is older than frontier h's tag (see
// narrowFormat for when this is exact).
func (f wordFormat) expired(xt, h uint64) bool {
	d := (f.tag(h) - xt) & f.tagMask
	return d != 0 && d <= f.tagMask>>1
}

// slotWord is a narrow or a wide word, read and swapped as a uint64 so
// that one code path serves both.
type slotWord interface {
	load() uint64
	cas(old, new uint64) bool
}

type narrowWord struct{ atomic.Uint32 }

func (w *narrowWord) load() uint64             { return uint64(w.Load()) }
func (w *narrowWord) cas(old, new uint64) bool { return w.CompareAndSwap(uint32(old), uint32(new)) }

type wideWord struct{ atomic.Uint64 }

func (w *wideWord) load() uint64             { return w.Load() }
func (w *wideWord) cas(old, new uint64) bool { return w.CompareAndSwap(old, new) }

// slotRef is one ring word and its format.
type slotRef struct {
	w slotWord
	f wordFormat
}

// amountAt is what the word holds for slot k: its amount if it is tagged k.
func (s slotRef) amountAt(k uint64) int64 {
	if x := s.w.load(); s.f.tagOf(x) == s.f.tag(k) {
		return s.f.amount(x)
	}
	return 0
}

// slotRing is the ring's header; the narrow words follow it in the same
// object, made by newRing from a type built for their count (ringType), so
// the collector sees the one pointer.
type slotRing struct {
	wide atomic.Pointer[wideWord] // the first of words() wide words, or nil
}

// ringType is the type of a ring of n narrow words: the header's pointer,
// then the words (392 bytes for 96: the 416-byte size class).
func ringType(n uint64) reflect.Type {
	return reflect.StructOf([]reflect.StructField{
		{Name: "Wide", Type: reflect.TypeFor[unsafe.Pointer]()},
		{Name: "Narrow", Type: reflect.ArrayOf(int(n), reflect.TypeFor[uint32]())},
	})
}

func newRing(g *geometry) *slotRing {
	return (*slotRing)(reflect.New(g.ringType).UnsafePointer())
}

// narrowAt returns rg's narrow word i.
func (r *Rolling) narrowAt(rg *slotRing, i uint64) slotRef {
	p := (*narrowWord)(unsafe.Add(unsafe.Pointer(rg), unsafe.Sizeof(*rg)))
	return slotRef{&unsafe.Slice(p, r.words())[i], r.g.narrow}
}

func (r *Rolling) wideAt(p *wideWord, i uint64) slotRef {
	return slotRef{&unsafe.Slice(p, r.words())[i], wideFormat}
}

// slots returns the words of ring index i that exist, narrow first: none
// while the ring is not allocated (every word then reads as empty, and a
// word with no credits is inert whatever its tag: nothing expires, refunds
// or counts from it), the wide one only once the wide ring is.
func (r *Rolling) slots(i uint64) (ws [2]slotRef, n int) {
	rg := r.ring.Load()
	if rg == nil {
		return ws, 0
	}
	ws[0] = r.narrowAt(rg, i)
	if p := rg.wide.Load(); p != nil {
		ws[1] = r.wideAt(p, i)
		return ws, 2
	}
	return ws, 1
}

// ringToWrite is the ring for a writer, allocated first if need be.
func (r *Rolling) ringToWrite() *slotRing {
	return loadOrNew(&r.ring, func() *slotRing { return newRing(r.g) })
}

// wideToWrite is rg's wide word i for a writer, the wide ring allocated
// first if need be.
func (r *Rolling) wideToWrite(rg *slotRing, i uint64) slotRef {
	return r.wideAt(loadOrNew(&rg.wide, func() *wideWord { return &make([]wideWord, r.words())[0] }), i)
}

// loadOrNew returns *p, publishing a new value first if it is nil (the
// first of racing writers publishes; the others use that one).
func loadOrNew[T any](p *atomic.Pointer[T], alloc func() *T) *T {
	v := p.Load()
	if v == nil {
		v = alloc()
		if testHooks && ringHook != nil {
			ringHook()
		}
		if !p.CompareAndSwap(nil, v) {
			v = p.Load()
		}
	}
	return v
}

// RingBytes is what r's ring of older slots' words takes once a roll has
// made it (before that it takes nothing): its 32-bit words, and its 64-bit
// words too if they exist or if the limit lets a slot's amount exceed a
// 32-bit word, which is when a roll may make them. A store bounding its
// memory counts it up front, and again after SetLimit.
func (r *Rolling) RingBytes() int {
	n := int(r.g.ringType.Size())
	if rg := r.ring.Load(); r.limit.Load() > r.g.narrow.capacity() || rg != nil && rg.wide.Load() != nil {
		n += 8 * int(r.words())
	}
	return n
}
