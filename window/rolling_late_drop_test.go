//go:build creditgate_testhooks

package window

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRollingLateHelperDropsLiveRing: a jump's helper that drained a ring
// and was stalled before dropping it, while the jump finished and a later
// slot was recorded in that ring, dropped the ring with those credits in
// it: counted in past, in no ring, they never came back (TestLazyRingDrains
// found it about once in 60 runs). The ring was made during the jump, by a
// roll from before it that found none (the helpers had dropped the old
// one), after the helper that finished the jump had seen none.
//
// Goroutines, not nested hooks: the roll's ring is published between the
// finishing helper's look at the ring and its unmarking of the head, and
// the roll then helps the jump itself and stalls before its drop.
func TestRollingLateHelperDropsLiveRing(t *testing.T) {
	for _, recordFirst := range []bool{true, false} {
		name := map[bool]string{true: "recorded before the drop", false: "recorded after the drop"}[recordFirst]
		t.Run(name, func(t *testing.T) { lateHelperDropsLiveRing(t, recordFirst) })
	}
}

// lateHelperDropsLiveRing is the test's case: the later slot recorded in
// the ring before the stalled helper drops it (the helper moves it), or
// after (its recorder, whose swap lands on the dropped ring, moves it).
func lateHelperDropsLiveRing(t *testing.T, recordFirst bool) {
	defer clearHooks()
	r := newTestRolling(t)   // 10 credits, 10 s, 1-second slots
	mustTake(t, r, t0, 1)    // cur (s0, 1); no ring yet
	far := t0.Add(time.Hour) // a jump
	rollAtRing, goRoll := make(chan struct{}), make(chan struct{})
	jumpAtUnmark, goJump := make(chan struct{}), make(chan struct{})
	rollAtDrop, goDrop := make(chan struct{}), make(chan struct{})
	done := make(chan struct{}, 2)
	ringHook = func() { // the roll's ring, allocated, not yet published
		ringHook = nil
		rollAtRing <- struct{}{}
		<-goRoll
	}
	go func() { // the roll from s0 to s0+1: records s0's 1 in a new ring
		defer func() { done <- struct{}{} }()
		r.TakeAt(t0.Add(time.Second), 1, 0, false)
	}()
	<-rollAtRing
	unmarkHook = func() { // the jump's helper, its ring seen nil, cur retired
		unmarkHook = nil
		jumpAtUnmark <- struct{}{}
		<-goJump
	}
	go func() { // the jump
		defer func() { done <- struct{}{} }()
		r.TakeAt(far, 2, 0, false)
	}()
	<-jumpAtUnmark
	dropHook = func() { // the roll, now a helper of the jump: drained its ring
		dropHook = nil
		rollAtDrop <- struct{}{}
		<-goDrop
	}
	goRoll <- struct{}{} // publishes its ring, finds the head busy, helps
	<-rollAtDrop
	goJump <- struct{}{} // unmarks the head: the jump is through
	<-done               // the jump's take, at far
	if recordFirst {
		mustTake(t, r, far.Add(time.Second), 1) // rolls far's 2 into the ring the roll made
		goDrop <- struct{}{}                    // the stalled helper drops that ring
		<-done
	} else {
		slotHook = func() { // far's 2, about to be swapped into that ring
			slotHook = nil
			goDrop <- struct{}{} // the stalled helper drops it
			<-done
		}
		mustTake(t, r, far.Add(time.Second), 1)
		require.Nil(t, slotHook)
	}
	require.Nil(t, ringHook)
	require.Nil(t, unmarkHook)
	require.Nil(t, dropHook)
	at := far.Add(time.Second)
	assert.Equal(t, int64(7), r.RemainingAt(at), "far's 2 and the 1 after it")
	later := far.Add(time.Minute)
	assert.Equal(t, int64(10), r.RemainingAt(later), "every credit back once its slot left")
	assert.Zero(t, r.past.Load(), "past after draining")
}
