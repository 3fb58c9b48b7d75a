package window

import (
	"sync/atomic"
	"time"
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
	busy       = 1 << 63 // head mark: a jump's ring reset is in progress
	totalPad   = 8       // words before the ring: the total's own cache line
)

// Rolling admits at most Limit credits in any interval of length W.
//
// The window is split into slots of width w = ceil(W/S). Credits spent in slot
// k, which covers [k·w, (k+1)·w), come back at (k+1)·w + W: only once the whole
// slot is older than W, so no credit ever returns early. Compared with an exact
// sliding log, Rolling withholds at most the credits spent in one slot's width
// (those spent in (t−W−w, t−W]).
//
// The state is a shared total (every credit not yet returned), a frontier (the
// oldest slot still inside the window) and a ring of S+1 slot words. TryAcquireAt
// is one compare-and-swap on the total plus one atomic add on the current slot:
// no mutex, no allocation, no goroutine. Expiry is lazy: the caller that sees the
// frontier move claims it with a compare-and-swap and returns the expired slots'
// credits to the total (slot first, total after, so the total never undercounts).
//
// Time is the caller's: a caller whose now is older than the frontier is treated
// as at the frontier (its credits count from there), so a stale clock can never
// make the window admit more, and a jump of days clears the ring in S+1 steps.
//
// Slot words carry their epoch modulo 2^23. As with any tagged
// compare-and-swap, this assumes no goroutine stalls between loading a word and
// swapping it while that word is rewritten to a bit-identical value, which
// takes the clock moving 2^23 slot widths (240 years at 15-minute slots).
//
// A Rolling must be made by NewRolling; methods on the zero value panic.
type Rolling struct {
	head  atomic.Uint64 // frontier epoch: slots below it have left the window
	limit atomic.Int64
	// total counts the credits spent and not yet returned, including ones in
	// flight to a slot. It is the contended word, so it lives alone on the first
	// cache line of the ring's allocation: sharing a line with the read-mostly
	// fields above made every reader miss (8x slower at 2 goroutines).
	// It holds an int64 in a uint64 word, so that it shares the ring's type.
	total *atomic.Uint64

	ring   []atomic.Uint64 // slot words, index epoch % size
	width  uint64          // slot width in ns
	length uint64          // W in ns
	quo    uint64          // W / width
	rem    uint64          // W % width
	size   uint64          // len(ring) = ceil(W/width) + 1
	skew   uint64          // 2^63 % width: aligns slots with the Unix epoch
}

// NewRolling returns a window admitting at most limit credits in any interval
// of the given length, split into DefaultSlots slots unless WithSlots says otherwise.
func NewRolling(limit int64, length time.Duration, opts ...Option) (*Rolling, error) {
	if limit <= 0 || limit > MaxLimit {
		return nil, ErrInvalidLimit
	}
	if length <= 0 {
		return nil, ErrInvalidLength
	}
	c := buildConfig(opts)
	if c.slots < 1 || c.slots > MaxSlots {
		return nil, ErrInvalidSlots
	}
	W := uint64(length)
	S := uint64(c.slots)
	w := max((W+S-1)/S, 2) // >= 2 ns keeps epochs below the busy bit
	r := &Rolling{width: w, length: W, quo: W / w, rem: W % w, skew: signBit % w}
	r.size = (W+w-1)/w + 1
	words := make([]atomic.Uint64, totalPad+r.size)
	r.total = &words[0]
	r.ring = words[totalPad:]
	r.limit.Store(limit)
	return r, nil
}

// toU maps a time to an unsigned nanosecond count that keeps the order of
// UnixNano and puts slot boundaries on multiples of the slot width since the
// Unix epoch (so 15-minute slots start at :00, :15, ...); epochs are then plain
// unsigned divisions. Instants before 1678 all map to 0.
func (r *Rolling) toU(t time.Time) uint64 {
	x := uint64(t.UnixNano()) ^ signBit
	if x < r.skew {
		return 0
	}
	return x - r.skew
}

func (r *Rolling) fromU(u uint64, loc *time.Location) time.Time {
	return time.Unix(0, int64((u+r.skew)^signBit)).In(loc)
}

// Limit reports the pool size.
func (r *Rolling) Limit() int64 { return r.limit.Load() }

// Length reports the window length W.
func (r *Rolling) Length() time.Duration { return time.Duration(r.length) }

// SlotWidth reports the slot width w: the bound on how late a credit comes back.
func (r *Rolling) SlotWidth() time.Duration { return time.Duration(r.width) }

// SetLimit changes the pool size; what is spent stays spent, so a lowered limit
// may leave nothing to take until enough credits come back.
func (r *Rolling) SetLimit(limit int64) error {
	if limit <= 0 || limit > MaxLimit {
		return ErrInvalidLimit
	}
	r.limit.Store(limit)
	return nil
}

// TryAcquireAt takes n credits at now if all n are available.
func (r *Rolling) TryAcquireAt(now time.Time, n int64) (bool, error) {
	if n <= 0 {
		return false, ErrInvalidCount
	}
	if n > r.limit.Load() {
		return false, ErrExceedsLimit
	}
	took, _, _ := r.take(r.toU(now), n, false)
	return took != 0, nil
}

// TryAcquire is shorthand for TryAcquireAt(time.Now(), n).
func (r *Rolling) TryAcquire(n int64) (bool, error) { return r.TryAcquireAt(time.Now(), n) }

func (r *Rolling) tryAcquireTok(now time.Time, n int64) (bool, uint64, error) {
	if n <= 0 {
		return false, 0, ErrInvalidCount
	}
	if n > r.limit.Load() {
		return false, 0, ErrExceedsLimit
	}
	took, s, _ := r.take(r.toU(now), n, false)
	return took != 0, s, nil
}

// ChargeAt takes up to n credits at now, as many as remain, and returns how many.
func (r *Rolling) ChargeAt(now time.Time, n int64) int64 {
	if n <= 0 {
		return 0
	}
	took, _, _ := r.take(r.toU(now), n, true)
	return took
}

// takeHook, if set (by tests only), runs between reading the frontier and
// taking from the total: the window in which another caller can move the
// frontier under this one.
var takeHook func()

// slotHook, if set (by tests only), runs between taking from the total and
// recording the credits in their slot.
var slotHook func()

// take charges n credits (or, if partial, as many of them as fit) at u and
// returns the amount taken, the slot epoch it was charged to and the instant it
// counts at (u, or the frontier's instant for a stale caller).
func (r *Rolling) take(u uint64, n int64, partial bool) (int64, uint64, uint64) {
	for {
		e := r.head.Load()
		if e&busy != 0 {
			r.help(e)
			continue
		}
		base := e*r.width + r.length // the instant frontier e became current
		var x uint64                 // offset of the effective now past base
		if u >= base {
			x = u - base
			if x >= r.width {
				r.advance(e, u)
				continue
			}
		} // else: stale caller, counted as at base.
		s := e + r.quo
		if x+r.rem >= r.width {
			s++
		}
		if takeHook != nil {
			takeHook()
		}
		L := r.limit.Load()
		k := n
		for {
			t := int64(r.total.Load())
			if t+k > L {
				if !partial {
					return 0, s, base + x
				}
				k = L - t
				if k <= 0 {
					return 0, s, base + x
				}
			}
			if r.total.CompareAndSwap(uint64(t), uint64(t+k)) {
				break
			}
			k = n
		}
		// The frontier may have moved (and returned credits) between reading it
		// and taking from the total; then the check above was against a total
		// this caller's now is not entitled to. Give back and retry from the new
		// frontier.
		if r.head.Load() != e {
			r.total.Add(uint64(-k))
			continue
		}
		if slotHook != nil {
			slotHook()
		}
		r.addSlot(s, k)
		return k, s, base + x
	}
}

// addSlot records k credits (already in the total) against slot s.
func (r *Rolling) addSlot(s uint64, k int64) {
	w := &r.ring[s%r.size]
	tag := s & tagMask
	for {
		x := w.Load()
		if x>>amountBits == tag {
			// Add rather than CAS: if the word was swept or retagged since the
			// load, the credits land in a word whose epoch is s or later, which
			// withholds them longer but never returns them early.
			w.Add(uint64(k))
			return
		}
		// Another epoch holds the word. Read the frontier after the word: every
		// epoch ever written is at most frontier+D, and the ring keeps the live
		// epochs [frontier, frontier+D] at distinct indexes.
		h := r.head.Load()
		if h&busy != 0 {
			r.help(h)
			continue
		}
		if s < h {
			// Slot s has left the window already: the credits are due back.
			r.total.Add(uint64(-k))
			return
		}
		// s is live, so the word holds an expired epoch: retire it here.
		if w.CompareAndSwap(x, tag<<amountBits|uint64(k)) {
			if a := int64(x & amountMask); a != 0 {
				r.total.Add(uint64(-a))
			}
			return
		}
	}
}

// advance moves the frontier from e to u's frontier and returns the credits of
// the slots that left the window. Only the caller whose CAS wins sweeps a
// short step; a jump of a whole ring or more marks the head busy, and every
// caller that sees it helps clear the ring (help), so nobody waits on a
// preempted sweeper and no epoch from before the jump is compared with one after.
func (r *Rolling) advance(e, u uint64) {
	if e&busy != 0 {
		r.help(e)
		return
	}
	en := (u - r.length) / r.width
	if en <= e {
		return
	}
	if en-e >= r.size {
		if r.head.CompareAndSwap(e, en|busy) {
			r.help(en | busy)
		}
		return
	}
	if !r.head.CompareAndSwap(e, en) {
		return
	}
	i := e % r.size
	for k := e; k < en; k++ {
		r.expire(i)
		if i++; i == r.size {
			i = 0
		}
	}
}

// expire returns the credits of ring word i if its epoch is below the frontier.
func (r *Rolling) expire(i uint64) {
	w := &r.ring[i]
	for {
		x := w.Load()
		a := int64(x & amountMask)
		if a == 0 {
			return
		}
		h := r.head.Load() // after the word: see addSlot
		if h&busy != 0 {
			r.help(h)
			return
		}
		xt := x >> amountBits
		if d := ((h & tagMask) - xt) & tagMask; d == 0 || d >= tagHalf {
			return // at or past the frontier: still live
		}
		if w.CompareAndSwap(x, xt<<amountBits) {
			r.total.Add(uint64(-a))
			return
		}
	}
}

// help finishes the jump to frontier h (busy-marked): every word holds an
// epoch from before the jump, all expired, so each is reset to the newest
// expired epoch of its index with its credits returned, and the head is then
// unmarked. Helpers stop as soon as the head is no longer h, so a late helper
// never touches a word written after the jump.
func (r *Rolling) help(h uint64) {
	en := h &^ busy
	k := en - r.size
	i := k % r.size
	for range r.size {
		w := &r.ring[i]
		want := (k & tagMask) << amountBits
		for {
			x := w.Load()
			if x == want {
				break
			}
			if r.head.Load() != h {
				return
			}
			if w.CompareAndSwap(x, want) {
				if a := int64(x & amountMask); a != 0 {
					r.total.Add(uint64(-a))
				}
				break
			}
		}
		k++
		if i++; i == r.size {
			i = 0
		}
	}
	r.head.CompareAndSwap(h, en)
}

// sync brings the frontier up to u and returns it.
func (r *Rolling) sync(u uint64) uint64 {
	for {
		e := r.head.Load()
		if e&busy != 0 {
			r.help(e)
			continue
		}
		base := e*r.width + r.length
		if u < base || u-base < r.width {
			return e
		}
		r.advance(e, u)
	}
}
