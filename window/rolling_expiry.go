package window

// record files a credits, rolled out of cur and already added to past, in a
// ring lane of their slot t: the first tier's they fit (see slotRing).
// Called only by the roll that moved them, once per slot (cur's slot only
// moves forward), so a lane never holds t already except by tag aliasing,
// where adding is the conservative choice.
func (r *Rolling) record(t uint64, a int64) {
	rg := r.ringToWrite()
	i := t % r.words()
	last := r.g.ntiers - 1
	for j := range last {
		// A tier a does not fit is not made for it; one it fits may still
		// refuse it if aliasing adds it to another slot's amount.
		if a <= r.g.tiers[j].f.capacity() && r.recordIn(rg, r.laneToWrite(rg, j, i), t, a) {
			return
		}
	}
	// Any amount fits a 64-bit lane (at most MaxLimit) unless aliasing
	// adds it to another: then the credits stay in past, counted until the
	// window empties (never admitting too much).
	r.recordIn(rg, r.laneToWrite(rg, last, i), t, a)
}

// recordIn is record's step on rg's word w; false if a does not fit w.
func (r *Rolling) recordIn(rg *slotRing, w slotRef, t uint64, a int64) bool {
	tag := w.f.tag(t)
	for {
		// Read the frontier after the word: every epoch ever recorded is
		// older than a cur slot, so at most frontier+size-2, and the ring
		// keeps the epochs [frontier, frontier+size-2] at distinct indexes
		// (see words), so a word holding another epoch than a live t holds
		// an expired one.
		x := w.load()
		if testHooks && wordHook != nil {
			wordHook()
		}
		h := r.head.Load()
		if h&busy != 0 {
			r.help(h)
			continue
		}
		if t < h {
			r.past.Add(-a) // slot t has left the window: the credits are due back
			return true
		}
		sum, old := a, w.f.amount(x)
		if w.f.tagOf(x) == tag {
			sum, old = a+old, 0
		}
		if sum > w.f.capacity() {
			return false
		}
		if testHooks && slotHook != nil {
			slotHook()
		}
		if !w.cas(x, tag<<w.f.amountBits|uint64(sum)) {
			continue
		}
		if old != 0 {
			r.past.Add(-old) // the expired slot the word held, retired here
		}
		// If the frontier passed t after the check, the sweeper may have found
		// the word still holding the older, empty slot and skipped it: empty
		// it here, or the credits would stay counted for another whole window.
		// The same if a jump passed t: rg may then be a ring the jump's
		// helpers drained and dropped before this swap, which nobody else
		// would empty.
		if h := r.head.Load() &^ busy; t < h {
			r.drop(rg, t, false)
		} else if r.ring.Load() != rg {
			// A helper of a jump finished before it dropped rg (see help):
			// slot t is still live, and goes to the ring now current.
			r.drop(rg, t, true)
		}
		return true
	}
}

// drop empties the words of slot t in ring rg that still hold t, each
// by the swap that empties it (so once, whoever else empties it): t known
// to have left the window, their credits are returned to past; with
// refile (rg dropped by a jump's helper after the jump, see help), they
// are filed again in the current ring, or returned if t has left by then.
func (r *Rolling) drop(rg *slotRing, t uint64, refile bool) {
	ws, n := r.slotsIn(rg, t%r.words())
	for _, w := range ws[:n] {
		tag := w.f.tag(t)
		for {
			x := w.load()
			a := w.f.amount(x)
			if w.f.tagOf(x) != tag || a == 0 {
				break
			}
			if w.cas(x, tag<<w.f.amountBits) {
				if refile {
					r.record(t, a) // still in past
				} else {
					r.past.Add(-a)
				}
				break
			}
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
	en := (u - r.length()) / r.g.width
	if en <= e {
		return
	}
	// A jump of size slots or more has expired cur's slot too (at most
	// e+size-1), which help retires: a jump of size-1 must sweep, since cur
	// may hold the new frontier's slot, while the sweep below visits each of
	// the size-1 ring words at most once.
	if en-e >= r.size() {
		if r.head.CompareAndSwap(e, en|busy) {
			r.help(en | busy)
		}
		return
	}
	size := r.words()
	if !r.head.CompareAndSwap(e, en) {
		return
	}
	if testHooks && sweepHook != nil {
		sweepHook()
	}
	i := e % size
	for k := e; k < en; k++ {
		r.expire(i)
		if i++; i == size {
			i = 0
		}
	}
	r.retireCur()
}

// expire returns the credits of ring index i's words whose epoch is below
// the frontier.
func (r *Rolling) expire(i uint64) {
	ws, n := r.slots(i)
	for _, w := range ws[:n] {
		if !r.expireIn(w) {
			return // a jump's helpers drain the ring
		}
	}
}

// expireIn is expire's step on one word; false if the head was busy (then
// it has helped the jump through).
func (r *Rolling) expireIn(w slotRef) bool {
	for {
		x := w.load()
		a := w.f.amount(x)
		if a == 0 {
			return true
		}
		h := r.head.Load() // after the word: see record
		if h&busy != 0 {
			r.help(h)
			return false
		}
		xt := w.f.tagOf(x)
		if !w.f.expired(xt, h) {
			return true // at or past the frontier: still live
		}
		if w.cas(x, xt<<w.f.amountBits) {
			r.past.Add(-a)
			return true
		}
	}
}

// retireCur empties cur if its slot has left the window (its credits are not
// in past, so nothing is returned) and retags it with the newest expired
// slot and the retired amount (see retired), so that cur's tag never drifts
// more than a ring behind the frontier and a tag comparison with a live slot
// stays unambiguous.
func (r *Rolling) retireCur() {
	for {
		c := r.cur.Load()
		h := r.head.Load() // after cur: cur's slot is at most h+size-1
		if h&busy != 0 {
			return // the jump's helpers retire cur
		}
		want := ((h-1)&tagMask)<<amountBits | retired
		if d := ((h & tagMask) - c>>amountBits) & tagMask; d == 0 || d >= tagHalf || c == want {
			return
		}
		if r.cur.CompareAndSwap(c, want) {
			return
		}
	}
}

// help finishes the jump to frontier h (busy-marked). Every slot recorded
// before the jump has left the window, so the ring is drained (each lane's
// credits returned from past by the swap that empties it, so exactly once)
// and then dropped: the first writer after the drop makes a new one. A new
// ring rather than the old one reset, because a jump moves the epoch by
// any amount, and tags (the epoch modulo 2^T) then repeat: a goroutine
// stalled across the jump between loading a lane and swapping it would
// find the value it loaded written again by a slot after the jump of the
// same index, tag and amount, and swap that slot's credits away
// (TestRollingHelperStalledAcrossJump, TestRollingRefundRacesJump).
// Its swap now lands on the old ring. Only recorders stalled across the
// jump write there after the drain, each a slot from before the jump, at
// its own index and tag, which it then drops again (see recordIn); one
// that finds no ring while the head is busy makes one, sees the head and
// writes nothing into it. cur is retired (see retired) and the head then
// unmarked. Helpers stop as soon as the head is no longer h. One stalled
// between its drain and its drop may still drop a ring after the jump
// (made during it, and written after it): it then moves that ring's
// slots to the current one (drain with refile), as does a recorder whose swap lands
// on it (drop), so no credit is left in a ring nobody sweeps
// (TestRollingLateHelperDropsLiveRing).
func (r *Rolling) help(h uint64) {
	for {
		rg := r.ring.Load()
		if r.head.Load() != h {
			return // rg may be the new ring, after the jump
		}
		if rg == nil {
			break
		}
		if !r.drain(rg, h, false) {
			return
		}
		if testHooks && dropHook != nil {
			dropHook()
		}
		// The head may have been unmarked between the drain and the drop:
		// rg (a ring a roll from before the jump made during it, which
		// the finishing helper did not see) may then hold slots recorded
		// after the jump. Then they move to the ring now current.
		if r.ring.CompareAndSwap(rg, nil) && r.head.Load() != h {
			r.drain(rg, h, true)
		}
	}
	en := h &^ busy
	want := ((en-1)&tagMask)<<amountBits | retired
	for {
		c := r.cur.Load()
		if c == want {
			break
		}
		if r.head.Load() != h {
			return
		}
		if r.cur.CompareAndSwap(c, want) {
			break
		}
	}
	if testHooks && unmarkHook != nil {
		unmarkHook()
	}
	r.head.CompareAndSwap(h, en)
}

// drain empties every lane of rg, returning its credits to past; false if
// the head is no longer h. With refile (rg dropped by a jump's helper after
// the jump, see help) it empties them whatever the head, and files each
// lane's credits again in the current ring if the ring keeps its slot live
// there (the one of the lane's index and tag), returning them otherwise.
func (r *Rolling) drain(rg *slotRing, h uint64, refile bool) bool {
	for i := range r.words() {
		ws, n := r.slotsIn(rg, i)
		for _, w := range ws[:n] {
			if !r.drainLane(w, i, h, refile) {
				return false
			}
		}
	}
	return true
}

// drainLane is drain's step on lane w, of ring index i.
func (r *Rolling) drainLane(w slotRef, i, h uint64, refile bool) bool {
	for {
		x := w.load()
		a := w.f.amount(x)
		if a == 0 {
			return true
		}
		if !refile {
			if r.head.Load() != h {
				return false
			}
			if testHooks && drainHook != nil {
				drainHook(a)
			}
		}
		if !w.cas(x, w.f.tagOf(x)<<w.f.amountBits) {
			continue
		}
		if refile {
			if t, ok := r.liveSlot(w, x, i); ok {
				r.record(t, a) // still in past
				return true
			}
		}
		r.past.Add(-a)
		return true
	}
}

// liveSlot is the slot that ring index i keeps live under the frontier, if
// lane w's word x is tagged with it.
func (r *Rolling) liveSlot(w slotRef, x, i uint64) (uint64, bool) {
	size, e := r.words(), r.head.Load()&^busy
	t := e + (i+size-e%size)%size
	return t, t <= e+r.size()-2 && w.f.tag(t) == w.f.tagOf(x)
}

// sync brings the frontier up to u and returns it.
func (r *Rolling) sync(u uint64) uint64 {
	for {
		e := r.head.Load()
		if e&busy != 0 {
			r.help(e)
			continue
		}
		base := e*r.g.width + r.length()
		if u < base || u-base < r.g.width {
			return e
		}
		r.advance(e, u)
	}
}
