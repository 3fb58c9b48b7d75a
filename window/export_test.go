package window

import "time"

// takeEff is TryAcquireAt that also reports the instant the credits were
// counted at: now itself, or the frontier's instant for a stale caller. The
// stress and reference tests log that instant to replay the admissions.
func (r *Rolling) takeEff(now time.Time, n int64) (ok bool, eff time.Time) {
	took, _, u := r.take(r.toU(now), n, false)
	return took != 0, r.fromU(u, time.UTC)
}

// WaitWith exposes wait with a fake clock and timer factory.
var WaitWith = wait

// TimerFunc exposes timerFunc for fakes.
type TimerFunc = timerFunc

// RingSize reports the number of slot words.
func (r *Rolling) RingSize() int { return len(r.ring) }

// takeTok is takeEff that also returns the slot charged, for refundSlot.
func (r *Rolling) takeTok(now time.Time, n int64) (ok bool, eff time.Time, slot uint64) {
	took, s, u := r.take(r.toU(now), n, false)
	return took != 0, r.fromU(u, time.UTC), s
}
