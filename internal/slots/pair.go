package slots

import (
	"errors"
	"sync/atomic"
)

// Pair is two [Slots] counted in one word, A and B, for a caller that
// mostly takes of each at once: the limiter takes an application's
// concurrency units (A) and its API class's sub-concurrency slot (B)
// together, and one atomic add then takes both, and one gives both back,
// where two Slots cost two of each on the line every admission writes.
//
// A call takes a delta: a weight of A plus a weight of B times PairB
// (PairA|PairB is one of each; 5*PairA+PairB is a Zoho composite call,
// which takes five concurrency units and one sub-concurrency unit). Each
// count is 32 bits of the word, capacities are clamped to MaxPairCapacity
// (about a billion, which no process holds at once) and weights are at
// most MaxPairWeight. Like
// Slots, TryAcquire adds first and takes back what does not fit, with the
// same consequences (see Slots); a refused attempt names the count that
// refused it.
//
// The zero value has both capacities 0. A Pair must not be copied after
// first use. All methods are safe for concurrent use; TryAcquire and Release
// take no lock.
type Pair struct {
	held atomic.Uint64 // A's count in the low 32 bits, B's in the high 32
	caps atomic.Uint64 // A's capacity in the low 32 bits, B's in the high 32
}

// What one slot of A and one of B add to a Pair's counting word: a delta
// (see Pair) is a*PairA + b*PairB.
const (
	PairA uint64 = 1
	PairB uint64 = 1 << 32
)

// MaxPairCapacity is the largest capacity of a Pair's count, and
// MaxPairWeight the largest weight of a delta's half: small enough that a
// count (at most MaxPairCapacity held) plus a million concurrent attempts
// of the largest weight, each added before it is refused, stays below
// 2^31, so a count that reads 2^31 or more can only be a release of a slot
// not held, and no count carries into the other's half (a weight of
// MaxPairCapacity did, with three to five such attempts in flight).
const (
	MaxPairCapacity = 1<<30 - 1
	MaxPairWeight   = 1<<11 - 1
)

// pairHook, in interleaving tests only (built with -tags
// creditgate_testhooks, see testHooks), runs in TryAcquire between its add
// on held and its load of the capacities.
var pairHook func()

var errPairDelta = errors.New("slots: Pair delta with a weight past MaxPairWeight")

// TryAcquire takes the weights of A and of B that delta names (see Pair),
// all or nothing, without waiting, and reports whether it did; when it did
// not, refusedA reports whether A's count refused (else B's did).
// TryAcquire(0) takes nothing and is true, as Slots.TryAcquire(0). It
// panics on a delta with a weight past MaxPairWeight.
func (p *Pair) TryAcquire(delta uint64) (ok, refusedA bool) {
	checkDelta(delta)
	// The add before the load of the capacities: a capacity change stores
	// the capacities and then reads held (PairCache.maybeOn), so one of the
	// two sees the other. Loaded first, an old capacity could admit this
	// take while maybeOn, missing its slot, turns the cache on over the new
	// capacity (TestPairCacheLoweredDuringTake).
	h := p.held.Add(delta)
	if testHooks && pairHook != nil {
		pairHook()
	}
	c := p.caps.Load()
	// A count that delta does not name may be over its capacity (lowered
	// while held) without refusing this call: only the named ones count,
	// and the mask (all ones in each half delta names: adding 2^30-1 to a
	// half below 2^30 sets its bit 30 if and only if it is not 0) leaves
	// the others 0. In masks, not branches, so that TryAcquire inlines (the
	// store's admission calls it).
	h &= (delta + (1<<30-1)*(PairA+PairB)) >> 30 & (PairA | PairB) * (1<<32 - 1)
	if uint32(h) <= uint32(c) && h>>32 <= c>>32 {
		return true, false
	}
	p.held.Add(-delta)
	return false, uint32(h) > uint32(c)
}

// Release gives back the weights of A and of B that delta names: what a
// TryAcquire of delta took. Like Slots.Release, it panics with "slots:
// released more than held" (the release undone first) if a count would go
// below zero, which in one word would borrow from the other count; and on a
// bad delta, as TryAcquire. Release(0) does nothing.
func (p *Pair) Release(delta uint64) {
	checkDelta(delta)
	if h := p.held.Add(-delta); h&(1<<31|1<<63) != 0 { // a count at 2^31 or more: it went below zero
		p.held.Add(delta)
		panic(errReleasedMore)
	}
}

// checkDelta panics if a half of delta is past MaxPairWeight (2^11-1: bits
// 11 to 31 of each half must be clear).
func checkDelta(delta uint64) {
	if delta&^(MaxPairWeight*(PairA|PairB)) != 0 {
		panic(errPairDelta)
	}
}

// Held returns the slots held of A and of B (with, for an instant, those
// of a TryAcquire about to be refused: see Slots).
func (p *Pair) Held() (a, b int64) {
	h := p.held.Load()
	return int64(uint32(h)), int64(h >> 32)
}

// Capacity returns the capacities of A and B.
func (p *Pair) Capacity() (a, b int64) {
	c := p.caps.Load()
	return int64(uint32(c)), int64(c >> 32)
}

// SetCapacityA and SetCapacityB change one count's capacity (clamped to
// 0..MaxPairCapacity); see Slots for what happens to slots held beyond a
// lowered one.
func (p *Pair) SetCapacityA(n int64) { p.setCapacity(0, n) }

// SetCapacityB: see SetCapacityA.
func (p *Pair) SetCapacityB(n int64) { p.setCapacity(32, n) }

func (p *Pair) setCapacity(shift uint, n int64) {
	n = min(max(n, 0), MaxPairCapacity)
	for {
		c := p.caps.Load()
		next := c&^(uint64(1<<32-1)<<shift) | uint64(n)<<shift
		if p.caps.CompareAndSwap(c, next) {
			return
		}
	}
}
