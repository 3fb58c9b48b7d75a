package window

import "time"

// takeEff is TryAcquireAt that also reports the instant the credits were
// counted at: now itself, or the frontier's instant for a stale caller. The
// stress and reference tests log that instant to replay the admissions.
func (r *Rolling) takeEff(now time.Time, n int64) (ok bool, eff time.Time) {
	ok, eff, _ = r.takeTok(now, n)
	return ok, eff
}

// WaitWith exposes wait with a fake clock and timer factory.
var WaitWith = wait

// TimerFunc exposes timerFunc for fakes.
type TimerFunc = timerFunc

// RingSize reports the most slots live at once (the ring words and cur).
func (r *Rolling) RingSize() int { return int(r.size()) }

// RingWords reports the length of the ring of slot words.
func (r *Rolling) RingWords() int { return int(r.words()) }

// takeTok is takeEff that also returns the slot charged, for refundSlot.
func (r *Rolling) takeTok(now time.Time, n int64) (ok bool, eff time.Time, slot uint64) {
	took, s, u, _ := r.take(r.toU(now), n, 0, false)
	return took != 0, r.fromU(u, time.UTC), s
}

// acquireTok is TryAcquireAt (fast path first, then take) that also reports
// the counted instant and the slot charged, for the stress test's replay and
// refunds. The fast path counts at now itself, in now's slot.
func (r *Rolling) acquireTok(now time.Time, n int64) (ok bool, eff time.Time, slot uint64) {
	u := r.toU(now)
	if ok, done, _ := r.fast(r.g, u, n, r.limit.Load()); done {
		return ok, now, u / r.g.width
	}
	return r.takeTok(now, n)
}

// TryTakeAt is TakeAt without keep or partial, as the tests that compare its
// remainder with RemainingAt were written.
func (r *Rolling) TryTakeAt(now time.Time, n int64) (bool, int64) {
	t := r.TakeAt(now, n, 0, false)
	return t.Took != 0, t.Remaining
}

// tryAcquireTok is TryAcquireAt that also returns the period charged.
func (f *Fixed) tryAcquireTok(now time.Time, n int64) (bool, uint64, error) {
	if n <= 0 {
		return false, 0, ErrInvalidCount
	}
	if n > f.limit.Load() {
		return false, 0, ErrExceedsLimit
	}
	t, id := f.stepTok(now, n, 0, false)
	return t.Took != 0, id, nil
}

// RingAllocated reports whether the ring of slot words exists yet.
func (r *Rolling) RingAllocated() bool { return r.ring.Load() != nil }

// RingWide reports whether the ring's 64-bit tier exists yet.
func (r *Rolling) RingWide() bool {
	rg := r.ring.Load()
	return rg != nil && r.tierWords(rg, r.g.ntiers-1) != nil
}

// RingNarrow reports whether the ring's 32-bit tier exists yet (always, in
// a ring that starts at it).
func (r *Rolling) RingNarrow() bool {
	rg := r.ring.Load()
	return rg != nil && r.tierWords(rg, r.g.ntiers-2) != nil
}
