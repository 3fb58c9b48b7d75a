package window

import "time"

// RefundAt gives back up to n credits spent at spent, from spent's slot, if that
// slot is still inside the window at now. It never gives back more than the
// slot holds, so the pool never exceeds the limit and expired credits stay gone.
// A refund for a stale acquisition (one counted at the frontier, later than its
// own now) may find less in spent's slot and give back less: never too much.
func (r *Rolling) RefundAt(now, spent time.Time, n int64) {
	if n <= 0 {
		return
	}
	e := r.sync(r.toU(now))
	s := r.toU(spent) / r.width
	if s < e || s > e+r.size-1 {
		return
	}
	r.refundSlot(s, n)
}

func (r *Rolling) refundTok(s uint64, n int64) {
	if n > 0 {
		r.refundSlot(s, n)
	}
}

// refundSlot takes up to n credits out of slot s (only if the word still holds
// epoch s), then out of the total: slot first, so the total never undercounts.
// It returns how many it gave back.
func (r *Rolling) refundSlot(s uint64, n int64) int64 {
	w := &r.ring[s%r.size]
	tag := s & tagMask
	for {
		x := w.Load()
		if x>>amountBits != tag {
			return 0
		}
		a := int64(x & amountMask)
		k := min(a, n)
		if k == 0 {
			return 0
		}
		if w.CompareAndSwap(x, x-uint64(k)) {
			r.total.Add(uint64(-k))
			return k
		}
	}
}

// RemainingAt reports the credits that can be taken at now.
func (r *Rolling) RemainingAt(now time.Time) int64 {
	r.sync(r.toU(now))
	return max(r.limit.Load()-int64(r.total.Load()), 0)
}

// Remaining is shorthand for RemainingAt(time.Now()).
func (r *Rolling) Remaining() int64 { return r.RemainingAt(time.Now()) }

// live calls fn for each live slot from the oldest, with the instant its
// credits come back and its amount, until fn returns false.
func (r *Rolling) live(e uint64, fn func(back uint64, amount int64) bool) {
	for k := e; k < e+r.size; k++ {
		x := r.ring[k%r.size].Load()
		if x>>amountBits != k&tagMask {
			continue
		}
		if a := int64(x & amountMask); a > 0 && !fn((k+1)*r.width+r.length, a) {
			return
		}
	}
}

// ResetAt reports when the oldest spent credits come back (now if none are spent).
func (r *Rolling) ResetAt(now time.Time) time.Time {
	u := r.toU(now)
	e := r.sync(u)
	back := u
	r.live(e, func(b uint64, _ int64) bool { back = b; return false })
	if back < u {
		back = u
	}
	return r.fromU(back, now.Location())
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
	e := r.sync(u)
	avail := L - int64(r.total.Load())
	if avail >= n {
		return now, nil
	}
	// If the slots do not cover it (credits in flight to a slot), everything
	// spent so far is back once the newest live slot leaves.
	at := (e+r.size)*r.width + r.length
	r.live(e, func(b uint64, a int64) bool {
		avail += a
		if avail >= n {
			at = b
			return false
		}
		return true
	})
	if at < u {
		at = u
	}
	return r.fromU(at, now.Location()), nil
}
