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
		if a <= r.g.tiers[j].f.capacity() && r.recordIn(r.laneToWrite(rg, j, i), t, a) {
			return
		}
	}
	// Any amount fits a 64-bit lane (at most MaxLimit) unless aliasing
	// adds it to another: then the credits stay in past, counted until the
	// window empties (never admitting too much).
	r.recordIn(r.laneToWrite(rg, last, i), t, a)
}

// recordIn is record's step on one word w; false if a does not fit w.
func (r *Rolling) recordIn(w slotRef, t uint64, a int64) bool {
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
		if h := r.head.Load() &^ busy; t < h {
			r.drop(t)
		}
		return true
	}
}

// drop empties the ring words of slot t, known to have left the window,
// that still hold t, and returns their credits to past.
func (r *Rolling) drop(t uint64) {
	ws, n := r.slots(t % r.words())
	for _, w := range ws[:n] {
		tag := w.f.tag(t)
		for {
			x := w.load()
			a := w.f.amount(x)
			if w.f.tagOf(x) != tag || a == 0 {
				break
			}
			if w.cas(x, tag<<w.f.amountBits) {
				r.past.Add(-a)
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
			return // a jump's helpers reset the ring
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
			return // the jump's helpers reset cur
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

// help finishes the jump to frontier h (busy-marked): every word holds an
// epoch from before the jump, all expired, so each is reset to the newest
// expired epoch of its index with its credits returned, cur is retired (see
// retired), and the head is then unmarked. Helpers stop as soon as the head
// is no longer h, so a late helper never touches a word written after the
// jump. A ring (or later tier) a late recorder allocates after a helper
// looked is that recorder's to clear (see record).
func (r *Rolling) help(h uint64) {
	en := h &^ busy
	size := r.words()
	k := en - size
	i := k % size
	if r.ring.Load() == nil {
		size = 0 // no word holds credits
	}
	for range size {
		ws, n := r.slots(i)
		for _, w := range ws[:n] {
			if !r.reset(w, k, h) {
				return
			}
		}
		k++
		if i++; i == size {
			i = 0
		}
	}
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
	r.head.CompareAndSwap(h, en)
}

// reset is help's step on one word, which it resets to slot k, empty;
// false if the head is no longer h.
func (r *Rolling) reset(w slotRef, k, h uint64) bool {
	want := w.f.tag(k) << w.f.amountBits
	for {
		x := w.load()
		if x == want {
			return true
		}
		if r.head.Load() != h {
			return false
		}
		if testHooks && drainHook != nil {
			drainHook(w.f.amount(x))
		}
		if w.cas(x, want) {
			if a := w.f.amount(x); a != 0 {
				r.past.Add(-a)
			}
			return true
		}
	}
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
