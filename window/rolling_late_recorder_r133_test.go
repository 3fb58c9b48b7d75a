//go:build creditgate_testhooks

package window

// Reviewer r133: a recorder stalled across a jump that drops the ring,
// in orders nested hooks cannot make (two goroutines, channels).

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRollingLateRecorderAcrossDrop_r133: goroutine L rolls slot s0+1 (1
// credit) out of cur and stalls in record between its check of the head
// and its swap of the (empty) lane of s0+1 in ring R1 (slotHook). s0 is
// the last index of the ring's 10, so s0+1's is the first. Goroutine J
// jumps (100 slots) and, helping, drains R1 from index 0: it passes s0+1's
// empty lane and stalls before the swap that empties s0's (3 credits,
// drainHook). Then, by case:
//
//   - "busy": L swaps while the head is busy, into the lane J's drain has
//     passed: L must drop its 1 itself; then J drains s0's 3 and
//     finishes the jump.
//   - "after": J finishes the jump first, a post-jump roll makes ring R2
//     and records slot s0+100+1 (1 credit: the same index as s0+1) into
//     it; then L's swap lands on R1, which it must drop from, leaving
//     R2's lane alone.
//
// Expected either way: past returns to exactly the post-jump spending
// (no credit of s0 or s0+1 left, none of the later slot taken away), and
// a window later nothing is counted. Passes on a56f83a.
func TestRollingLateRecorderAcrossDrop_r133(t *testing.T) {
	for _, after := range []bool{false, true} {
		name := "busy"
		if after {
			name = "after"
		}
		t.Run(name, func(t *testing.T) {
			defer clearHooks()
			r := newTestRolling(t) // 10 credits, 10 s, 1-second slots: 10 words
			t0 := t0.Add(time.Duration((19-r.toU(t0)/r.g.width%10)%10) * time.Second)
			s0 := r.toU(t0) / r.g.width
			require.Equal(t, uint64(9), s0%r.words())
			mustTake(t, r, t0, 3)
			mustTake(t, r, t0.Add(time.Second), 1) // s0's 3 go to R1
			r1 := r.ring.Load()
			require.NotNil(t, r1)
			later := t0.Add(100 * time.Second) // s0+100: s0's index, 10 words
			atSlot, goSlot := make(chan struct{}), make(chan struct{})
			atDrain, goDrain := make(chan struct{}), make(chan struct{})
			var slotArmed, drainArmed atomic.Bool
			slotArmed.Store(true)
			drainArmed.Store(true)
			slotHook = func() {
				if slotArmed.CompareAndSwap(true, false) {
					atSlot <- struct{}{}
					<-goSlot
				}
			}
			drainHook = func(a int64) {
				if a == 3 && drainArmed.CompareAndSwap(true, false) {
					atDrain <- struct{}{}
					<-goDrain
				}
			}
			var wg sync.WaitGroup
			var lOK, jOK atomic.Bool
			wg.Go(func() { // L: rolls s0+1 out, records it
				ok, _ := r.TryAcquireAt(t0.Add(2*time.Second), 1)
				lOK.Store(ok)
			})
			<-atSlot
			wg.Go(func() { // J: the jump
				ok, _ := r.TryAcquireAt(later, 2)
				jOK.Store(ok)
			})
			<-atDrain
			want := int64(2) // J's 2 at s0+100
			if after {
				close(goDrain) // J finishes the jump
				for r.head.Load()&busy != 0 {
					time.Sleep(time.Millisecond)
				}
				for !jOK.Load() {
					time.Sleep(time.Millisecond)
				}
				mustTake(t, r, later.Add(time.Second), 1) // rolls s0+100's 2 into R2
				require.NotSame(t, r1, r.ring.Load(), "the first roll after the jump makes a new ring")
				mustTake(t, r, later.Add(2*time.Second), 4) // rolls s0+101's 1 into R2: s0+1's index
				want += 1 + 4
				close(goSlot) // L swaps into R1
				wg.Wait()
			} else {
				close(goSlot) // L swaps into R1 while the head is busy
				for !lOK.Load() {
					time.Sleep(time.Millisecond)
				}
				close(goDrain)
				wg.Wait()
			}
			require.True(t, lOK.Load())
			require.True(t, jOK.Load())
			ws, _ := r.slotsIn(r1, (s0+1)%r.words())
			assert.Equal(t, ws[0].f.tag(s0+1)<<ws[0].f.amountBits, ws[0].load(), "L's swap landed on R1, and L emptied it")
			now := later.Add(2 * time.Second)
			assert.Equal(t, want, r.TakeAt(now, 0, 0, false).Spent, "only the spending since the jump is counted")
			assert.Zero(t, r.TakeAt(now.Add(12*time.Second), 0, 0, false).Spent, "a window later nothing is counted")
		})
	}
}
