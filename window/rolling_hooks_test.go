//go:build creditgate_testhooks

package window

// The interleaving tests: deterministic races driven by the test-only hooks
// in take, roll, record, sweep and the ring's first allocation. The hooks are
// compiled in only with -tags creditgate_testhooks (scripts/test.sh passes
// it); without the tag these tests are not built, and the hot path carries no
// hook checks. The window of the TestRolling ones is newTestRolling's: 10
// credits, 10 s, 1-second slots.

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRollingFrontierMovesDuringTake pins the race the post-check in take
// exists for: a caller reads the frontier, another caller moves it (returning
// slot 0's credits) and takes, and only then does the first one load cur and
// past. The first caller must not be counted at its own now, at which slot 0's
// credits are still in the window.
func TestRollingFrontierMovesDuringTake(t *testing.T) {
	r := newTestRolling(t)
	mustTake(t, r, t0, 10)
	late := t0.Add(11 * time.Second) // slot 0 comes back
	takeHook = func() {
		takeHook = nil
		mustTake(t, r, late, 1)
	}
	defer func() { takeHook = nil }()
	ok, eff := r.takeEff(t3, 5) // t3 = late - 1ns: slot 0 still counts here
	require.True(t, ok)
	assert.Equal(t, late, eff, "counted from the moved frontier, not at its own now")
	replay(t, []entry{{t0.UnixNano(), 10}, {late.UnixNano(), 1}, {eff.UnixNano(), 5}},
		int64(10*time.Second), 10)
}

// The ring of slot words is allocated by the first roll that records a
// slot; until then no word can hold credits. Two rolls that both find no
// ring allocate one each and only one is published: a roll paused between
// allocating and publishing (test hook) while another rolls, allocates,
// publishes and records must record into the published ring, or the
// credits it records would never come back.
func TestLazyRingFirstRoll(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var arrived atomic.Int32
	var release chan struct{}
	ringHook = func() {
		if arrived.Add(1) == 1 {
			<-release // the first allocator waits for the second to finish
		}
	}
	defer func() { ringHook = nil }()
	for round := range 50 {
		arrived.Store(0)
		release = make(chan struct{})
		r, err := NewRolling(1000, 10*time.Second, WithSlots(5)) // 2 s slots, a ring of 6
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := r.TryAcquireAt(t0, 10); !ok || r.RingAllocated() {
			t.Fatalf("round %d: first take ok=%v, ring allocated %v before any roll", round, ok, r.RingAllocated())
		}
		var wg sync.WaitGroup
		var okA bool
		wg.Go(func() { okA, _ = r.TryAcquireAt(t0.Add(2*time.Second), 1) }) // rolls to slot 1, records slot 0
		for arrived.Load() == 0 {
			runtime.Gosched()
		}
		okB, _ := r.TryAcquireAt(t0.Add(4*time.Second), 2) // rolls to slot 2, records slot 1
		if arrived.Load() != 2 {
			t.Fatalf("round %d: the second roll did not allocate a ring (%d allocations)", round, arrived.Load())
		}
		close(release)
		wg.Wait()
		if !okA || !okB || !r.RingAllocated() {
			t.Fatalf("round %d: takes %v %v, ring allocated %v", round, okA, okB, r.RingAllocated())
		}
		if got := r.RemainingAt(t0.Add(5 * time.Second)); got != 1000-13 {
			t.Fatalf("round %d: %d remaining after 10, 1 and 2, want 987", round, got)
		}
		// Slot 2, the last spent in, leaves the window at 16 s.
		if got := r.RemainingAt(t0.Add(16 * time.Second)); got != 1000 {
			t.Fatalf("round %d: %d remaining once every slot left, want 1000", round, got)
		}
	}
}

// A first roll held between allocating the ring and publishing it while
// another caller jumps a whole ring (help finds no ring) and then rolls and
// records in the new frontier: the held roll's credits must come back.
func TestLazyRingJumpWhileAllocating(t *testing.T) {
	for _, secondRecords := range []bool{false, true} {
		var arrived atomic.Int32
		release := make(chan struct{})
		ringHook = func() {
			if arrived.Add(1) == 1 {
				<-release
			}
		}
		defer func() { ringHook = nil }()
		r, _ := NewRolling(100, 10*time.Second, WithSlots(5)) // 2 s slots, ring of 6
		t0 := start
		if ok, _ := r.TryAcquireAt(t0, 10); !ok {
			t.Fatal("first take refused")
		}
		var wg sync.WaitGroup
		wg.Go(func() { r.TryAcquireAt(t0.Add(2*time.Second), 1) }) // rolls slot 0 out: held in the hook
		for arrived.Load() == 0 {
			runtime.Gosched()
		}
		far := t0.Add(time.Hour)
		if ok, _ := r.TryAcquireAt(far, 5); !ok { // a jump: help with no ring
			t.Fatal("take after the jump refused")
		}
		if secondRecords {
			if ok, _ := r.TryAcquireAt(far.Add(2*time.Second), 7); !ok { // rolls and records: allocates, publishes
				t.Fatal("take after the jump refused")
			}
		}
		close(release)
		wg.Wait()
		ringHook = nil
		want := int64(95)
		at := far.Add(2 * time.Second)
		if secondRecords {
			want = 88
		}
		if got := r.RemainingAt(at); got != want {
			t.Fatalf("secondRecords=%v: %d remaining, want %d (past %d)", secondRecords, got, want, r.past.Load())
		}
		if got := r.RemainingAt(at.Add(time.Minute)); got != 100 {
			t.Fatalf("secondRecords=%v: %d remaining once all left, want 100 (past %d)", secondRecords, got, r.past.Load())
		}
	}
}

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

// TestRollingLostSwapRetries: a caller whose swap of cur loses to another take
// in the same slot backs off once and retries rather than reporting a
// refusal: 4+1+5 fit. TryAcquireAt and TakeAt lose in fast, ChargeAt (a
// partial take) in take's loop.
func TestRollingLostSwapRetries(t *testing.T) {
	for name, take := range map[string]func(r *Rolling) int64{
		"TryAcquireAt": func(r *Rolling) int64 {
			ok, err := r.TryAcquireAt(t0, 5)
			require.NoError(t, err)
			if ok {
				return 5
			}
			return 0
		},
		"TakeAt":   func(r *Rolling) int64 { return r.TakeAt(t0, 5, 0, false).Took },
		"ChargeAt": func(r *Rolling) int64 { return r.ChargeAt(t0, 5) },
	} {
		t.Run(name, func(t *testing.T) {
			r := newTestRolling(t)
			mustTake(t, r, t0, 4)
			backoffs := 0
			loadHook = func() {
				loadHook = nil
				mustTake(t, r, t0, 1)
			}
			backoffHook = func() { backoffs++ }
			defer func() { loadHook, backoffHook = nil, nil }()
			assert.Equal(t, int64(5), take(r))
			assert.Nil(t, loadHook, "the hook ran")
			assert.Equal(t, 1, backoffs, "backed off once after one lost swap")
			assert.Zero(t, r.RemainingAt(t0))
		})
	}
}

// TestRollingRefundRacesJump: a refund by token checked its slot against
// the frontier once, before its steps; a jump of a day then landed between a
// ring word's check and its swap, and the word, emptied by the jump's
// helpers, got the credits of a later slot of the same index and tag (the
// stress test's clock jumps of exactly a day are a multiple of words*2^9
// slots there). The swap failed, the retry found the tag equal and took the
// later slot's credits, others' spending (TestRollingStress at -cpu 4,8:
// one run in about 600 after TestRefundTokOfSlotLongGone's fix). Each step
// now checks the frontier after its load.
//
// The later slot's amount decides which race: 9 (its word differs from
// what the refund loaded, so the swap fails and the retry must see the
// frontier) or 1 (bit-identical to it: the swap succeeded until a jump
// dropped the ring, see TestRollingHelperStalledAcrossJump's comment).
func TestRollingRefundRacesJump(t *testing.T) {
	for _, later := range []int64{9, 1} {
		t.Run(fmt.Sprintf("later slot takes %d", later), func(t *testing.T) {
			r := newTestRolling(t) // 10 credits, 10 s, 1-second slots
			alias := laneAlias(r)
			ok, _, s0 := r.takeTok(t0, 1)
			require.True(t, ok)
			mustTake(t, r, t0.Add(time.Second), 1) // s0 goes to its ring word: 1
			at := t0.Add(time.Duration(alias) * time.Second)
			refundHook = func() {
				refundHook = nil
				ok, _, s1 := r.takeTok(at, later)
				require.True(t, ok)
				require.Equal(t, s0+alias, s1, "the later slot is the alias")
				mustTake(t, r, at.Add(time.Second), 1) // s1 goes to s0's ring word
			}
			defer func() { refundHook = nil }()
			got := r.refundTok(s0, 1)
			assert.Nil(t, refundHook, "the hook ran")
			assert.Zero(t, got, "the slot left the window during the refund: nothing to give back")
			assert.Equal(t, 10-later-1, r.RemainingAt(at.Add(time.Second)), "the live slots keep their credits")
		})
	}
}

// A jump moves the epoch by any distance, so after one, a slot of the
// same ring index, tag (the epoch modulo 2^T) and amount as one recorded
// before it can write its lane to the value a goroutine stalled across the
// jump loaded. Here the jump is laneAlias slots, so the slot after the
// jump lands on the lane, tag and amount of the slot before. The stalled
// swap must not take the later slot's credits: a jump drops the ring, and
// the swap lands on the old one (see help). This test and
// TestRollingRefundRacesJump's case of 1 failed when a jump reset the ring
// in place: 8 remaining for 5 (the helper), and a refund of the later
// slot's credit (the refund).
//
// TestRollingHelperStalledAcrossJump: a helper of the jump stalls between
// its check of the head and the swap that empties the lane (drainHook),
// while another helper finishes the jump and the later slot is recorded.
func TestRollingHelperStalledAcrossJump(t *testing.T) {
	r := newTestRolling(t)
	mustTake(t, r, t0, 3)
	mustTake(t, r, t0.Add(time.Second), 1) // t0's slot goes to its lane: 3
	later := t0.Add(time.Duration(laneAlias(r)) * time.Second)
	drainHook = func(a int64) {
		if a != 3 {
			return
		}
		drainHook = nil
		r.help(r.head.Load()) // another helper finishes the jump
		mustTake(t, r, later, 3)
		mustTake(t, r, later.Add(time.Second), 1) // later's 3 go to the same lane, tag and amount
	}
	defer func() { drainHook = nil }()
	mustTake(t, r, later, 1) // the jump, whose helper stalls before its swap
	assert.Nil(t, drainHook, "the hook ran")
	assert.Equal(t, int64(5), r.RemainingAt(later.Add(time.Second)), "3 + 1 + 1 spent since the jump")
	assert.Equal(t, int64(3), r.RefundAt(later.Add(time.Second), later, 3), "later's slot keeps its 3")
}
