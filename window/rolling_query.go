package window

import (
	"iter"
	"time"
)

// RefundAt gives back up to n credits spent at spent, from spent's slot, if that
// slot is still inside the window at now. It never gives back more than the
// slot holds, so the pool never exceeds the limit and expired credits stay gone.
// A refund for a stale acquisition (one counted at the frontier, later than its
// own now) may find less in spent's slot and give back less: never too much.
// It returns how many it gave back.
func (r *Rolling) RefundAt(now, spent time.Time, n int64) int64 {
	if n <= 0 {
		return 0
	}
	e := r.sync(r.toU(now))
	// No frontier's instant is before W (frontier 0's), so a take at an
	// earlier instant (the first window length after the low clamp, or
	// before it: see UnixNano) is counted at W at the earliest, in W's slot
	// if the frontier was still 0: look there, or the refund finds nothing.
	s := max(r.toU(spent), r.length()) / r.g.width
	if s < e || s > e+r.size()-1 {
		return 0
	}
	return r.refundSlot(s, n)
}

func (r *Rolling) refundTok(s uint64, n int64) int64 {
	if n > 0 {
		return r.refundSlot(s, n)
	}
	return 0
}

// refundSlot takes up to n credits out of slot s, nothing if s has left
// the window: out of cur if s is the current slot, else out of s's ring
// words (each only if it still holds epoch s: each tier's lane in turn) and
// then out of past: lane first, so past never undercounts. It returns how
// many it gave back.
// Credits in flight from cur to their ring word (a roll has moved them to
// past but not yet recorded them) are in neither, so a refund racing with
// the roll of its slot gives back nothing: an under-refund, which only
// withholds credits until the slot leaves the window.
func (r *Rolling) refundSlot(s uint64, n int64) int64 {
	tag := s & tagMask
	for {
		c := r.cur.Load()
		if c>>amountBits != tag {
			break
		}
		if r.left(s) {
			return 0
		}
		k := min(int64(c&amountMask), n)
		if k == 0 || c&amountMask == retired { // a retired cur's slot has left the window
			return 0
		}
		if r.cur.CompareAndSwap(c, c-uint64(k)) {
			return k
		}
	}
	ws, m := r.slots(s % r.words())
	var got int64
	for _, w := range ws[:m] {
		if got += r.refundIn(w, s, n-got); got == n {
			break
		}
	}
	return got
}

// left reports whether slot s is behind the frontier (a jump's new one
// while the head is busy), out of the window. A refund asks after each load
// of a word whose tag matched: tags (the epoch modulo 2^T) are exact only
// near the frontier, and a word that holds a later slot of s's tag was
// written under a frontier past s, which a load of the head after the word's
// then sees (TestRefundTokOfSlotLongGone, TestRollingRefundRacesJump). Asked
// once before the loads, a jump between the check and a swap's retry let the
// refund take a later slot's credits, others' spending.
func (r *Rolling) left(s uint64) bool { return s < r.head.Load()&^busy }

// refundIn is refundSlot's step on one ring word: up to n of slot s's
// credits out of w, if it holds s, and then out of past.
func (r *Rolling) refundIn(w slotRef, s uint64, n int64) int64 {
	for {
		x := w.load()
		if w.f.tagOf(x) != w.f.tag(s) || r.left(s) {
			return 0
		}
		k := min(w.f.amount(x), n)
		if k == 0 {
			return 0
		}
		if testHooks && refundHook != nil {
			refundHook()
		}
		if w.cas(x, x-uint64(k)) {
			r.past.Add(-k)
			return k
		}
	}
}

// spent reports the credits counted under frontier e: past plus cur's amount
// if cur's slot is still live (cur first, then past: see Rolling). A query's
// e may be older than the head by the time it loads cur: a retired cur is
// then tagged with a slot e still counts, and its amount is not credits.
func (r *Rolling) spent(e uint64) int64 {
	if testHooks && queryHook != nil {
		queryHook()
	}
	c := r.cur.Load()
	p := r.past.Load()
	if d := ((e & tagMask) - c>>amountBits) & tagMask; (d != 0 && d < tagHalf) || c&amountMask == retired {
		return p // cur's slot has left the window; a sweep will empty it
	}
	return p + int64(c&amountMask)
}

// RemainingAt reports the credits that can be taken at now.
func (r *Rolling) RemainingAt(now time.Time) int64 {
	e := r.sync(r.toU(now))
	return max(r.limit.Load()-r.spent(e), 0)
}

// Remaining is shorthand for RemainingAt(time.Now()).
func (r *Rolling) Remaining() int64 { return r.RemainingAt(time.Now()) }

// live calls fn for each live slot from the oldest, with the instant its
// credits come back and its amount, until fn returns false.
func (r *Rolling) live(e uint64, fn func(back uint64, amount int64) bool) {
	c := r.cur.Load()
	n, size := r.words(), r.size()
	for k := e; k < e+size; k++ {
		var a int64
		ws, m := r.slots(k % n)
		for _, w := range ws[:m] {
			a += w.amountAt(k)
		}
		if c>>amountBits == k&tagMask && c&amountMask != retired { // see spent
			a += int64(c & amountMask)
		}
		if a > 0 && !fn(r.backU(k), a) {
			return
		}
	}
}

// backU is when slot k's credits come back, (k+1)·w + W, or the last
// instant toU maps (MaxInt64 ns) if that is later: computed in full it
// would wrap around 2^64 to an instant long past.
func (r *Rolling) backU(k uint64) uint64 {
	last := ^uint64(0) - r.g.skew
	if k >= (last-r.length())/r.g.width {
		return last
	}
	return (k+1)*r.g.width + r.length()
}

// Returns is the window's state at now as a schedule: each instant at which
// spent credits come back, oldest first, with how many (one entry per slot,
// instants strictly increasing). Unlike Limit minus RemainingAt, it counts
// all that is spent, also beyond a limit lowered by SetLimit. Credits that a
// concurrent take moves between slot words, and credits taken while the
// schedule is read, may be counted once more, at the latest instant: a
// schedule errs towards credits coming back late, never early. Snapshots
// and plan changes copy a window through it.
func (r *Rolling) Returns(now time.Time) iter.Seq2[time.Time, int64] {
	return func(yield func(time.Time, int64) bool) {
		u := r.toU(now)
		var slots []slotReturn
		var e uint64
		var all int64
		for {
			e = r.sync(u)
			all = r.spent(e)
			slots = slots[:0]
			r.live(e, func(b uint64, a int64) bool {
				slots = append(slots, slotReturn{b, a})
				return true
			})
			if r.head.Load() == e {
				break
			}
			// Another caller moved the frontier while this one read: the
			// window may hold credits in slots past e's last, which read
			// under e would be listed at its return, early. Read again.
		}
		loc := now.Location()
		// An entry is yielded once the next one is known, so that the
		// credits in flight can join the last slot's if they share its instant.
		var pend uint64
		var pendN, seen int64
		for _, sl := range slots {
			b, a := sl.back, sl.n
			seen += a
			if pendN > 0 && b == pend { // slots due past the last instant (see backU)
				pendN += a
				continue
			}
			if pendN > 0 && !yield(r.fromU(pend, loc), pendN) {
				return
			}
			pend, pendN = b, a
		}
		if extra := all - seen; extra > 0 {
			// As AvailableAt: credits not in any slot word are back once
			// the newest live slot leaves, at the latest.
			last := r.backU(e + r.size() - 1)
			if pendN > 0 && pend != last && !yield(r.fromU(pend, loc), pendN) {
				return
			}
			if pend != last {
				pendN = 0
			}
			pend, pendN = last, pendN+extra
		}
		if pendN > 0 {
			yield(r.fromU(pend, loc), pendN)
		}
	}
}

// slotReturn is one live slot's entry in Returns: when its credits come
// back and how many.
type slotReturn struct {
	back uint64
	n    int64
}

// ResetAt reports when the oldest spent credits come back (now if none are spent).
func (r *Rolling) ResetAt(now time.Time) time.Time {
	u := r.toU(now)
	for {
		e := r.sync(u)
		back, found := u, false
		r.live(e, func(b uint64, _ int64) bool { back, found = b, true; return false })
		if !found && r.spent(e) > 0 {
			// Credits in flight to a slot word: as Returns, back once the
			// newest live slot leaves, at the latest.
			back = r.backU(e + r.size() - 1)
		}
		if r.head.Load() != e {
			continue // the frontier moved while this read: see Returns
		}
		return r.fromU(max(back, u), now.Location())
	}
}

// AvailableAt reports the earliest instant >= now at which n credits can be
// taken if nothing else is spent: when enough of the oldest slots have returned.
func (r *Rolling) AvailableAt(now time.Time, n int64) (time.Time, error) {
	if n <= 0 {
		return time.Time{}, ErrInvalidCount
	}
	L := r.limit.Load()
	if n > L {
		return time.Time{}, ErrExceedsLimit
	}
	u := r.toU(now)
	for {
		e := r.sync(u)
		avail := L - r.spent(e)
		if avail >= n {
			return now, nil
		}
		// If the slots do not cover it (credits in flight to a slot),
		// everything spent so far is back once the newest live slot leaves.
		at := r.backU(e + r.size() - 1)
		r.live(e, func(b uint64, a int64) bool {
			avail += a
			if avail >= n {
				at = b
				return false
			}
			return true
		})
		if r.head.Load() != e {
			continue // the frontier moved while this read: see Returns
		}
		return r.fromU(max(at, u), now.Location()), nil
	}
}
