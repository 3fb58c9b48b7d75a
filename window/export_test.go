package window

import "time"

// takeEff is TryAcquireAt that also reports the instant the credits were
// counted at: now itself, or the frontier's instant for a stale caller. The
// stress and reference tests log that instant to replay the admissions.
func (r *Rolling) takeEff(now time.Time, n int64) (ok bool, eff time.Time) {
	took, _, u := r.take(toU(now), n, false)
	return took != 0, fromU(u, time.UTC)
}

// WaitWith exposes wait with a fake clock and timer factory.
var WaitWith = wait

// TimerFunc exposes timerFunc for fakes.
type TimerFunc = timerFunc

// RingSize reports the number of slot words.
func (r *Rolling) RingSize() int { return len(r.ring) }
