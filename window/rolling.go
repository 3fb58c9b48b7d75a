package window

import (
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/creditgate/creditgate/internal/layout"
)

// Slot words pack a slot tag (the slot's epoch modulo 2^23) above the amount
// spent in that slot, so one compare-and-swap both checks and changes a slot.
const (
	amountBits = 41
	amountMask = 1<<amountBits - 1
	tagBits    = 64 - amountBits
	tagMask    = 1<<tagBits - 1
	tagHalf    = 1 << (tagBits - 1)
	signBit    = 1 << 63
	busy       = 1 << 63 // head mark: a jump's ring drain is in progress
	// retired is the amount of a cur that expiry reset (retireCur, help),
	// tagged with an expired slot: more than any slot holds (at most
	// MaxLimit), so no reset word is bit-identical to a live one a take
	// may have loaded. With amount 0, a take that loaded a slot emptied by
	// a refund could swap after the slot was filled and then expired and
	// cur reset to the same word, and count its credits in the expired
	// slot: admitted, and counted nowhere. Nothing counts a retired amount:
	// cur's slot has left the window (a query whose frontier is older than
	// the step that retired cur skips it, see spent; a refund finds nothing).
	retired = amountMask
)

// Rolling admits at most Limit credits in any interval of length W, under any
// interleaving of callers, stale clocks and jumps of time.
//
// The window is split into slots of width w = ceil(W/S) (S = DefaultSlots
// unless WithSlots says otherwise). Credits spent in slot k, which covers
// [k·w, (k+1)·w), come back at (k+1)·w + W: never early, and compared with an
// exact sliding log at most one slot's width of spending late. A caller whose
// now is older than what the window has seen is counted as at the newest
// instant, so a stale clock can never make the window admit more.
//
// A take is one compare-and-swap on the current slot's word: no mutex, no
// allocation, no goroutine. TakeAt reports what it took and what the window
// holds, from that same step. (How the engine stays exact without a lock is
// described in the comment above the type's fields.)
//
// A Rolling must be made by NewRolling; methods on the zero value panic.
// All methods are safe for concurrent use.
type Rolling struct {
	// How Rolling works (design note; not part of the API).
	//
	// The window is split into slots of width w = ceil(W/S). Credits spent in slot
	// k, which covers [k·w, (k+1)·w), come back at (k+1)·w + W: only once the whole
	// slot is older than W, so no credit ever returns early. Compared with an exact
	// sliding log, Rolling withholds at most the credits spent in one slot's width
	// (those spent in (t−W−w, t−W]).
	//
	// # State
	//
	// A frontier (head: the oldest slot still inside the window), the current slot
	// word (cur: the newest slot's tag and the credits spent in it), past (the
	// credits of every other slot not yet returned) and a ring of S slot words
	// (ceil(W/w): the live slots other than cur's, see words) that record, per
	// older slot, what past holds for it. Nothing else counts
	// credits: what a caller may take is Limit − past − cur's amount. Ring
	// words are lanes of up to three tiers (21, 32 and 64 bits, see
	// slotRing): a slot is recorded in the first tier's lane of its index
	// its amount fits, and a tier after the first is made only when an
	// amount needs it. A ring index's credits may be split across its
	// tiers' lanes, one slot in each, so what the note says of "the ring
	// word" of an index holds of each lane, each visited in turn. A lane's
	// compare-and-swap swaps its whole 64-bit word, retried while only the
	// other lanes changed, so it succeeds exactly when the lane holds what
	// was loaded, as a word's own would.
	//
	// # The hot path: one compare-and-swap
	//
	// A caller in cur's slot loads cur, then past, then checks that the frontier
	// has not moved since it computed its slot, and swaps cur's amount up by n if
	// past + amount + n fits the limit. That single swap is the only locked
	// instruction. It is sound because every credit that can still count is in
	// past or in cur at every instant, and because the swap succeeds only if cur
	// did not change since it was loaded, which means no credit was taken in
	// between (every take goes through cur):
	//
	//   - cur before past: credits leave cur only by a roll (below), which adds
	//     them to past before it swaps cur. A caller that loads a cur written by a
	//     roll therefore sees that roll's addition to past; a roll after its load
	//     makes its swap fail.
	//   - the frontier check after past: the head was e both before cur and after
	//     past, and it only grows, so past was loaded while the frontier was e.
	//     Credits of slots >= e only leave past once the head passes them, so past
	//     had them all; slots that leave after the check leave legitimately
	//     (an admission counted under frontier e must only count slots >= e, and
	//     every later admission counts under a frontier at least as new).
	//
	// # Rolling to a new slot
	//
	// The first caller in a newer slot s rolls cur: having loaded cur and past
	// and checked the frontier as above, and past + a + n against the limit, it
	// adds the old slot's amount a to past, then swaps cur from the old word to
	// (s, n). If the swap fails it
	// subtracts a again and retries; meanwhile past over-counts by a, which can
	// only refuse someone spuriously, never admit too much. After a successful
	// swap it records a in the ring word of the old slot, retiring whatever
	// expired slot the word held (returning that slot's credits from past). If the
	// old slot has left the window by then, a is subtracted from past instead; if
	// it leaves while being recorded (the sweeper found the word still holding an
	// older, empty slot), the recorder notices the moved frontier after its swap
	// and empties the word itself. An old amount whose slot has already left the
	// window is not moved to past at all. Credits in flight between cur and their
	// ring word are in past throughout, so they are never undercounted; a refund
	// of such credits is dropped (a conservative under-refund).
	//
	// A caller whose slot is older than cur's (its now is behind another caller's,
	// in the same frontier) is counted as at the start of cur's slot, the way a
	// caller behind the frontier is counted at the frontier: its credits come back
	// one slot later, never earlier.
	//
	// # Expiry
	//
	// Lazy: the caller that sees the frontier move claims it with a
	// compare-and-swap on head, empties the ring words of the slots that left
	// (word first, past after, so past never undercounts) and empties cur if its
	// slot left too. A jump of a whole ring or more marks the head busy, and every
	// caller that sees the mark helps drain the whole ring, drop it and retire
	// cur (help), so nobody waits on a preempted sweeper and a jump of days
	// clears in S+2 steps. The first writer after the jump makes a new ring.
	//
	// Time is the caller's: a caller whose now is older than the frontier is treated
	// as at the frontier (its credits count from there), so a stale clock can never
	// make the window admit more.
	//
	// cur and 64-bit lanes carry their epoch modulo 2^23, 21- and 32-bit
	// lanes modulo 2^T, T just large enough (see laneTag) to order every
	// epoch a lane holding credits can carry against the frontier: about
	// three rings' span. As with any tagged compare-and-swap, this assumes
	// no goroutine stalls between loading a word and swapping it while that
	// word is rewritten to a bit-identical value. For a lane that takes the
	// frontier moving at least 2^T slots, more than four windows, in steps
	// of less than a ring (16 days for the default day of 96 slots, whose
	// index and tag repeat together every 1,536 slots): a jump, which moves
	// it any distance in one step, drops the ring, so that a swap stalled
	// across the jump lands on the old ring, where only recorders stalled
	// across it write, each adding a slot from before the jump that it then
	// drops again (see help). For cur it takes a caller's clock a multiple
	// of 2^23 slot widths, give or take a slot, ahead of the stalled
	// goroutine's load (240 years at 15-minute slots; a day for a 1-second
	// window of 96 slots), and a slot there of the same amount: one call
	// with such a clock suffices, which this does not guard against (one
	// clock for all callers, as the limiter's, cannot do it).
	//
	// A Rolling must be made by NewRolling, or set up in place by Init (to embed
	// it in a larger struct); methods on the zero value panic.
	//
	// Layout: 48 bytes, cur last. The fields every take reads and rarely
	// writes come first, and the geometry (slot width, W's quotient and
	// remainder, the epoch skew) is one pointer to a value shared by every
	// window of the same length and slot count, which stays in the cache.
	// NewRolling's allocation (64-byte aligned) puts cur alone at the start
	// of a second line: sharing a line with the read-mostly fields made
	// every reader miss (8x slower at 2 goroutines). An embedder that
	// writes something with every take puts it beside cur (the in-memory
	// store's tenant puts its concurrency slots there, and what a take reads
	// on a line it reads anyway: two lines per admission). The slot words of
	// older slots, which only rolls and expiry touch, are a separate
	// allocation, made by the first roll.
	head atomic.Uint64 // frontier epoch: slots below it have left the window
	// past counts the credits of live slots other than cur's (and of slots
	// not yet swept, or in flight to their ring word). Every take reads it but
	// only rolls, sweeps and refunds write it.
	past  atomic.Int64
	limit atomic.Int64
	// g is the window's geometry, immutable and shared by every window of
	// the same length and slot count (see geometryOf): 8 bytes on the line
	// a take reads, not 32.
	g *geometry
	// ring holds the words() slot words, index epoch % words: 21-bit
	// lanes and, once an amount does not fit one, 32-bit and then 64-bit
	// ones (see slotRing). Takes never read it. It is allocated by the
	// first roll that records a slot, and again by the first writer after
	// a jump, which drops it (see help): until then every word reads as empty
	// (see slots), so a key that spends within one slot's width, as most
	// short-lived keys do, never pays for the ring (288 bytes for 96
	// slots).
	ring atomic.Pointer[slotRing]
	// cur ends the struct: an embedder starts it 40 bytes before a line,
	// so that cur opens the next, beside what the embedder writes with it
	// (see padded).
	cur atomic.Uint64 // the current slot's word: the contended one
}

// geometry is what a window's length and slot count fix: the slot width in
// ns and W = quo*width + rem, and skew = 2^63 % width, which aligns slots
// with the Unix epoch; and, for the ring, its tiers and the type that
// allocates it (see slotRing).
type geometry struct {
	width, quo, rem, skew uint64
	ringTiers
}

// size is ceil(W/w) + 1, the most slots ever live at once: the frontier's
// to cur's, whose slot is at most frontier+size-1 (see fast). It follows
// from W and w, so the ring needs no length field.
func (g *geometry) size() uint64 {
	if g.rem != 0 {
		return g.quo + 2
	}
	return g.quo + 1
}

// padded is NewRolling's allocation, 64-byte aligned (the 128-byte size
// class): the fields every take reads and rarely writes end the first line
// and cur opens the second, alone on it. Two goroutines taking from one
// window then trade one line, not two.
type padded struct {
	_ [64 - 40]byte
	r Rolling
	_ [128 - 24 - unsafe.Sizeof(Rolling{})]byte
}

// NewRolling returns a window admitting at most limit credits in any interval
// of the given length, split into DefaultSlots slots unless WithSlots says otherwise.
func NewRolling(limit int64, length time.Duration, opts ...Option) (*Rolling, error) {
	p := new(padded)
	if err := p.r.init(limit, length, buildConfig(opts)); err != nil {
		return nil, err
	}
	return &p.r, nil
}

func init() {
	// The in-memory store embeds a Rolling in its tenants (see layout).
	layout.InitRolling = func(r *Rolling, limit int64, length time.Duration, slots int) error {
		c := buildConfig(nil)
		if slots > 0 {
			c.slots = slots
		}
		return r.init(limit, length, c)
	}
}

// slotWidth is w = ceil(W/S), at least 2 ns (which keeps epochs below the
// busy bit).
func slotWidth(W, S uint64) uint64 { return max((W+S-1)/S, 2) }

// init sets r up with the options built (its ring comes with the first roll).
func (r *Rolling) init(limit int64, length time.Duration, c config) error {
	if r.g != nil {
		return errInUse
	}
	if limit <= 0 || limit > MaxLimit {
		return ErrInvalidLimit
	}
	if length <= 0 || length > MaxLength {
		return ErrInvalidLength
	}
	if c.slots < 1 || c.slots > MaxSlots {
		return ErrInvalidSlots
	}
	W := uint64(length)
	w := slotWidth(W, uint64(c.slots))
	r.g = geometryOf(W, w)
	r.limit.Store(limit)
	return nil
}

// size is the geometry's: the most slots ever live at once.
func (r *Rolling) size() uint64 { return r.g.size() }

// words is the ring's length, size-1, and its index modulus: the ring holds
// the live slots other than cur's, which are older than cur's slot and so
// lie in [frontier, frontier+size-2] (a roll records the slot it moves out
// of cur, older than the slot it moves in), distinct modulo size-1. One word
// fewer than the live slots puts the default ring (96 slots of a day) in
// the 768-byte size class instead of the 896-byte one.
func (r *Rolling) words() uint64 { return r.size() - 1 }

// toU maps a time to an unsigned nanosecond count that keeps the order of
// UnixNano and puts slot boundaries on multiples of the slot width since the
// Unix epoch (so 15-minute slots start at :00, :15, ...); epochs are then plain
// unsigned divisions. Instants before 1678 all map to its first second, and
// after 2262 to its last (see UnixNano).
func (r *Rolling) toU(t time.Time) uint64 { return r.g.toU(t) }

func (g *geometry) toU(t time.Time) uint64 { return g.nsToU(UnixNano(t)) }

// nsToU is toU of the instant ns, UnixNano(t).
func (g *geometry) nsToU(ns int64) uint64 {
	x := uint64(ns) ^ signBit
	return x - min(x, g.skew) // 0 below skew
}

func (r *Rolling) fromU(u uint64, loc *time.Location) time.Time {
	return time.Unix(0, int64((u+r.g.skew)^signBit)).In(loc)
}

// Limit reports the pool size.
func (r *Rolling) Limit() int64 { return r.limit.Load() }

// Length reports the window length W.
func (r *Rolling) Length() time.Duration { return time.Duration(r.length()) }

// length is W in ns.
func (r *Rolling) length() uint64 { return r.g.quo*r.g.width + r.g.rem }

// SlotWidth reports the slot width w: the bound on how late a credit comes back.
func (r *Rolling) SlotWidth() time.Duration { return time.Duration(r.g.width) }

// SetLimit changes the pool size; what is spent stays spent, so a lowered limit
// may leave nothing to take until enough credits come back.
func (r *Rolling) SetLimit(limit int64) error {
	if limit <= 0 || limit > MaxLimit {
		return ErrInvalidLimit
	}
	r.limit.Store(limit)
	return nil
}

// geometryCache interns geometry by (W, width): a store keeps one window per
// tenant, and 100,000 tenants on a few plans then share a few geometries,
// which stay in cache. It holds at most maxGeometryCache, so hostile
// lengths cannot grow it without bound: a new geometry past that takes
// the place of an arbitrary one (whose windows keep it, only no longer
// shared with new ones), so a plan's windows made after hostile lengths
// filled the table still share theirs.
var geometryCache struct {
	sync.Mutex
	m map[[2]uint64]*geometry
}

const maxGeometryCache = 1024

// geometryOf returns the geometry of a window of length W ns and slot
// width w.
func geometryOf(W, w uint64) *geometry {
	k := [2]uint64{W, w}
	geometryCache.Lock()
	defer geometryCache.Unlock()
	if g := geometryCache.m[k]; g != nil {
		return g
	}
	g := &geometry{width: w, quo: W / w, rem: W % w, skew: signBit % w}
	g.ringTiers = newRingTiers(g.size() - 1)
	if geometryCache.m == nil {
		geometryCache.m = make(map[[2]uint64]*geometry)
	}
	if len(geometryCache.m) >= maxGeometryCache {
		for old := range geometryCache.m {
			delete(geometryCache.m, old)
			break
		}
	}
	geometryCache.m[k] = g
	return g
}
