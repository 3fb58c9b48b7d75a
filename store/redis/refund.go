package redis

import (
	"errors"
	"time"
)

// oweRefund books a refund of -n credits (n < 0) into slot at, step id,
// whose settle failed with err: reconcile sends it again, a settle of the
// same id into the same slot (one the windows have left since gives back
// nothing, as a late refund). One that was sent may have run: the replay
// finds its record and applies nothing more, but Redis keeps the record
// only for WithReplayTTL, so past by the refund is dropped, never applied
// twice; one whose deadline is past already (WithReplayTTL less than
// twice WithTimeout) is not booked. Past maxOwedSteps refunds it is
// dropped too. Not booked (false), it is reported as not given back,
// whether or not its try ran: its credits come back when their slot does.
func (s *Store) oweRefund(t *tenant, pi *planInfo, id string, at, n int64, err error) bool {
	st := owedStep{id: id, n: n, at: at}
	if !errors.Is(err, errOpen) {
		st.by = s.replayBy()
		if !time.Now().Before(st.by) {
			return false
		}
	}
	t.lastPlan.Store(pi)
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.owedRoom(true) {
		return false
	}
	t.owedSteps = append(t.owedSteps, st)
	return true
}

// replayBy is when a step whose call began at most a timeout ago must be
// replayed by to find its record: the replay may take one more timeout to
// reach Redis.
func (s *Store) replayBy() time.Time {
	return time.Now().Add(s.cfg.replayTTL - 2*s.cfg.timeout)
}

// replayRefund sends again the refund steps[i] of a reconcile (see
// oweRefund); false if the send failed: it is booked again, with the
// steps after it.
func (s *Store) replayRefund(t *tenant, pi *planInfo, now time.Time, steps []owedStep, i int) bool {
	st := &steps[i]
	if st.by.IsZero() {
		st.by = s.replayBy() // kept if this send fails: it may have run
	} else if !time.Now().Before(st.by) {
		return true // its record may be gone: a replay might apply it twice
	}
	if _, _, err := s.step("settle", t, pi, now, "", noClass, "", st.id, st.at, st.n, "0"); err != nil {
		t.owedAgain(steps, i)
		return false
	}
	return true
}
