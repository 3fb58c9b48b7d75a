package window

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Rolls (cur moving to a newer slot) beside other callers, without hooks;
// the interleavings the test-only hooks drive are in rolling_hooks_test.go.
// The window is newTestRolling's: 10 credits, 10 s, 1-second slots.

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

// TestRollingQueriedOnly: a window that is only queried for 2^23 slot widths,
// in steps short of a jump, keeps cur's tag near the frontier: the credits
// taken at the start stay returned, and the tag is never mistaken for a live
// slot after it wraps around.
func TestRollingQueriedOnly(t *testing.T) {
	r, err := NewRolling(10, 192*time.Nanosecond, WithSlots(96)) // 2 ns slots, 96 ring words
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
