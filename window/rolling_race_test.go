package window

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Deterministic interleavings of a roll (cur moving to a newer slot) with
// other callers, driven by the test-only hooks in take, roll and record. The
// window is newTestRolling's: 10 credits, 10 s, 1-second slots.

// TestRollingSlotLeavesDuringRoll: after a roll has moved slot 0's 4 credits
// to past, and before it records them, another caller jumps the clock 30 s
// (the ring is reset). Slot 0's credits are then due back: they must not stay
// counted, and the roller's own credit, in a slot that left too, neither.
func TestRollingSlotLeavesDuringRoll(t *testing.T) {
	r := newTestRolling(t)
	later := t0.Add(30 * time.Second)
	mustTake(t, r, t0, 4)
	slotHook = func() {
		slotHook = nil
		mustTake(t, r, later, 3)
	}
	defer func() { slotHook = nil }()
	mustTake(t, r, t0.Add(time.Second), 1) // rolls slot 0 out of cur
	assert.Nil(t, slotHook, "the hook ran")
	assert.Equal(t, int64(7), r.RemainingAt(later), "only the 3 taken at the later instant count")
	assert.Equal(t, int64(10), r.RemainingAt(later.Add(11*time.Second)))
}

// TestRollingSlotLeavesDuringRecord: slot 0 leaves the window by a short step
// between the roller's check that it is live and its write of the ring word.
// The sweeper finds the word still holding an older, empty slot and skips it;
// the roller must notice the moved frontier after its write and return slot
// 0's credits itself, or they would stay counted for another whole window.
func TestRollingSlotLeavesDuringRecord(t *testing.T) {
	r := newTestRolling(t)
	mustTake(t, r, t0, 4)
	slotHook = func() {
		slotHook = nil
		mustTake(t, r, t4, 1) // t4 = t0+11s: slot 0 leaves
	}
	defer func() { slotHook = nil }()
	mustTake(t, r, t0.Add(time.Second), 1)
	assert.Nil(t, slotHook, "the hook ran")
	assert.Equal(t, int64(8), r.RemainingAt(t4), "slot 0's 4 are back; the two 1s count")
	assert.Equal(t, int64(9), r.RemainingAt(t4.Add(time.Second)), "slot 1's credit is back")
	assert.Equal(t, int64(10), r.RemainingAt(t4.Add(11*time.Second)))
}

// TestRollingRollRacesTake: while a roll has added slot 0's 4 credits to past
// but not yet swapped cur, another caller in the same new slot rolls first.
// The first roll's swap fails and it takes its 4 back out of past before
// retrying (now as a plain take in the current slot): nothing is counted
// twice once it is done, and nothing is lost. In between, past over-counts,
// which can only refuse, never over-admit.
func TestRollingRollRacesTake(t *testing.T) {
	r := newTestRolling(t)
	mustTake(t, r, t0, 4)
	t1s := t0.Add(time.Second)
	rollHook = func() {
		rollHook = nil
		assert.Equal(t, int64(2), r.RemainingAt(t1s), "transient over-count of the roll's 4")
		mustTake(t, r, t1s, 2)
	}
	defer func() { rollHook = nil }()
	mustTake(t, r, t1s, 3)
	assert.Nil(t, rollHook, "the hook ran")
	assert.Equal(t, int64(1), r.RemainingAt(t1s))
	ok, _ := r.TryAcquireAt(t1s, 2)
	assert.False(t, ok)
	assert.Equal(t, int64(5), r.RemainingAt(t4), "slot 0's 4 are back")
	assert.Equal(t, int64(10), r.RemainingAt(t4.Add(time.Second)))
}

// TestRollingRefundDuringRoll: a refund of slot 0's credits while a roll has
// them in flight (in past, not yet in their ring word) finds them in neither
// cur nor the ring and gives back nothing: a documented under-refund, never
// an over-refund. Once recorded, the same refund works.
func TestRollingRefundDuringRoll(t *testing.T) {
	r := newTestRolling(t)
	ok, _, slot := r.takeTok(t0, 4)
	require.True(t, ok)
	var got int64 = -1
	slotHook = func() {
		slotHook = nil
		got = r.refundSlot(slot, 4)
	}
	defer func() { slotHook = nil }()
	mustTake(t, r, t0.Add(time.Second), 1)
	assert.Zero(t, got, "a refund racing with the roll gives nothing back")
	assert.Equal(t, int64(5), r.RemainingAt(t0.Add(time.Second)))
	assert.Equal(t, int64(4), r.refundSlot(slot, 4))
	assert.Equal(t, int64(9), r.RemainingAt(t0.Add(time.Second)))
	assert.Zero(t, r.refundSlot(slot, 4), "nothing left in slot 0")
}

// TestRollingBehindCurrentSlot: when W is not a multiple of the slot width, two
// callers under the same frontier can be in different slots. One at the start
// of slot k makes k current; one a nanosecond earlier, in slot k-1, is counted
// at the start of slot k (as a caller behind the frontier is counted at the
// frontier), so its credits come back with slot k's, never earlier.
func TestRollingBehindCurrentSlot(t *testing.T) {
	r, err := NewRolling(10, 10*time.Second, WithSlots(7))
	require.NoError(t, err)
	w := int64(r.SlotWidth())
	b := time.Unix(0, (t0.UnixNano()/w+1)*w).UTC() // the start of a slot k
	ok, eff := r.takeEff(b, 3)
	require.True(t, ok)
	assert.Equal(t, b, eff)
	ok, eff = r.takeEff(b.Add(-time.Nanosecond), 4)
	require.True(t, ok)
	assert.Equal(t, b, eff, "counted at the start of the current slot")
	// From a refund's view: the 4 are in slot k, not in slot k-1.
	r.RefundAt(b, b.Add(-time.Nanosecond), 4)
	assert.Equal(t, int64(3), r.RemainingAt(b))
	r.RefundAt(b, b, 1)
	assert.Equal(t, int64(4), r.RemainingAt(b))
	back := b.Add(r.SlotWidth() + r.Length()) // slot k's credits come back
	assert.Equal(t, int64(4), r.RemainingAt(back.Add(-time.Nanosecond)))
	assert.Equal(t, int64(10), r.RemainingAt(back))
}

// TestRollingRollBetweenLoads: a roll lands between a caller's load of cur and
// its load of past. Loading cur first, the caller sees the rolled-out 6 in
// past, and its swap fails anyway; loading past first it would see them in
// neither and admit 5 on top of 7 (issue #2: never over-admit). Run with the
// frontier still to move (take's path) and already moved by a query (where
// TryAcquireAt's fast path finds cur's new slot and must not trust it).
func TestRollingRollBetweenLoads(t *testing.T) {
	for _, queried := range []bool{false, true} {
		r := newTestRolling(t)
		mustTake(t, r, t0, 6)
		t1s := t0.Add(time.Second)
		if queried {
			assert.Equal(t, int64(4), r.RemainingAt(t1s))
		}
		loadHook = func() {
			loadHook = nil
			mustTake(t, r, t1s, 1) // rolls slot 0's 6 into past
		}
		ok, err := r.TryAcquireAt(t1s, 5)
		require.NoError(t, err)
		assert.Nil(t, loadHook, "queried=%v: the hook ran", queried)
		loadHook = nil
		assert.False(t, ok, "queried=%v: 6 + 1 + 5 credits in one window", queried)
		assert.Equal(t, int64(3), r.RemainingAt(t1s), "queried=%v", queried)
	}
}

// TestRollingFrontierMovesDuringFastTake is TestRollingFrontierMovesDuringTake
// for TryAcquireAt's fast path, where cur already holds the caller's slot: a
// query moves the frontier (returning slot 0's 9, spent at t0+0.9s) between
// the caller's read of the frontier and its loads. At its own now, t0+10.5s,
// those 9 still count, so it must be counted from the moved frontier, in slot
// 11 rather than slot 10, which shows in when its credit comes back.
func TestRollingFrontierMovesDuringFastTake(t *testing.T) {
	r := newTestRolling(t)
	mustTake(t, r, t0.Add(900*time.Millisecond), 9)
	mustTake(t, r, t0.Add(10*time.Second), 1) // cur holds slot 10
	takeHook = func() {
		takeHook = nil
		assert.Equal(t, int64(9), r.RemainingAt(t4), "slot 0's 9 are back at t0+11s")
	}
	defer func() { takeHook = nil }()
	mustTake(t, r, t0.Add(10500*time.Millisecond), 1)
	assert.Nil(t, takeHook, "the hook ran")
	assert.Equal(t, int64(8), r.RemainingAt(t4))
	at := t0.Add(21 * time.Second) // slot 10 is back, slot 11 is not
	assert.Equal(t, int64(9), r.RemainingAt(at), "the credit counts in slot 11")
	assert.Equal(t, int64(10), r.RemainingAt(at.Add(time.Second)))
}

// TestRollingRecordRetiresUnsweptSlot: the caller that moved the frontier past
// slot 0 is preempted before sweeping it, and meanwhile slot 11, which shares
// slot 0's ring word, is rolled out of cur and recorded there. The recorder
// must return slot 0's credits as it overwrites them, or nobody ever would.
func TestRollingRecordRetiresUnsweptSlot(t *testing.T) {
	r := newTestRolling(t) // 11 ring words
	mustTake(t, r, t0, 4)
	mustTake(t, r, t0.Add(time.Second), 1) // slot 0's 4 go to ring word 0
	sweepHook = func() {
		sweepHook = nil
		mustTake(t, r, t4, 2)                  // slot 11 is current (t4 = t0+11s)
		mustTake(t, r, t4.Add(time.Second), 3) // slot 11 goes to ring word 0
	}
	defer func() { sweepHook = nil }()
	r.RemainingAt(t4) // moves the frontier past slot 0
	assert.Nil(t, sweepHook, "the hook ran")
	assert.Equal(t, int64(5), r.RemainingAt(t4.Add(time.Second)), "slots 11 and 12 count, slot 0 not")
	assert.Equal(t, int64(10), r.RemainingAt(t4.Add(13*time.Second)))
}

// TestRollingQueriedOnly: a window that is only queried for 2^23 slot widths,
// in steps short of a jump, keeps cur's tag near the frontier: the credits
// taken at the start stay returned, and the tag is never mistaken for a live
// slot after it wraps around.
func TestRollingQueriedOnly(t *testing.T) {
	r, err := NewRolling(10, 192*time.Nanosecond, WithSlots(96)) // 2 ns slots, 97 words
	require.NoError(t, err)
	mustTake(t, r, t0, 5)
	assert.Equal(t, int64(5), r.RemainingAt(t0.Add(r.Length()))) // a step, not a jump
	now := t0.Add(r.Length() + r.SlotWidth())                    // t0's slot is back
	step := 96 * r.SlotWidth()                                   // the longest step that is not a jump
	for i := range (3<<23)/96 + 1 {
		if got := r.RemainingAt(now); got != 10 {
			t.Fatalf("step %d (%v slots on): RemainingAt = %d, want 10", i, int64(now.Sub(t0)/r.SlotWidth()), got)
		}
		now = now.Add(step)
	}
	mustTake(t, r, now, 10)
}

// TestRollingLostSwapRetries: a caller whose swap of cur loses to another take
// in the same slot retries rather than reporting a refusal: 4+1+5 fit.
func TestRollingLostSwapRetries(t *testing.T) {
	r := newTestRolling(t)
	mustTake(t, r, t0, 4)
	loadHook = func() {
		loadHook = nil
		mustTake(t, r, t0, 1)
	}
	defer func() { loadHook = nil }()
	mustTake(t, r, t0, 5)
	assert.Nil(t, loadHook, "the hook ran")
	assert.Zero(t, r.RemainingAt(t0))
}

// TestRollingRetiredCurIsUnique: a take that loaded cur when a refund had
// emptied its slot must not be able to swap after another take filled that
// slot and a jump retired it: the retired word differs from every word a
// live slot can hold. (With retired amounts of 0, the reset word was
// bit-identical, the stale swap succeeded and its credits were counted in
// the expired slot, that is nowhere: two full-pool takes in one slot.)
func TestRollingRetiredCurIsUnique(t *testing.T) {
	for _, jump := range []time.Duration{2 * time.Second, time.Second} { // a ring jump (help), a one-slot move
		r, err := NewRolling(5, time.Second, WithSlots(1)) // one 1-second slot, a ring of 2
		require.NoError(t, err)
		now := start.Truncate(time.Second).Add(time.Second)
		ok, _, slot := r.acquireTok(now, 1)
		require.True(t, ok)
		require.Equal(t, int64(1), r.refundSlot(slot, 1))
		stale := r.cur.Load() // what a take about to swap has loaded: (s, 0)
		mustTake(t, r, now, 5)
		r.RemainingAt(now.Add(jump)) // s leaves the window; cur is retired
		assert.NotEqual(t, stale, r.cur.Load(), "jump %v: the retired cur is the word a stale take loaded", jump)
	}
}
