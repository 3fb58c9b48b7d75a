package window

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

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

// (The two tests below were written by review, helper-12.)

// Fresh windows (no ring yet) hit by concurrent first rolls, jumps of a
// whole ring (help with a nil ring), expiry and refunds: once every slot has
// left, all the credits must be back (none lost in a ring nobody clears),
// and past must be 0.
func TestLazyRingDrains(t *testing.T) {
	for round := range 400 {
		r, _ := NewRolling(50, 10*time.Millisecond, WithSlots(5))
		w := int64(r.SlotWidth())
		var clock atomic.Int64
		clock.Store(start.UnixNano())
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(round), uint64(g)))
				for range 30 {
					var now int64
					switch p := rng.IntN(10); {
					case p < 5:
						now = clock.Add(rng.Int64N(w))
					case p < 7:
						now = clock.Add(int64(rng.IntN(3)) * 10 * w) // a jump of a ring or more
					default:
						now = clock.Load() - rng.Int64N(3*w)
					}
					ok, _, slot := r.takeTok(time.Unix(0, now), 1+rng.Int64N(5))
					if ok && rng.IntN(3) == 0 {
						r.refundSlot(slot, 1)
					}
					if rng.IntN(4) == 0 {
						r.RemainingAt(time.Unix(0, now))
					}
				}
			})
		}
		wg.Wait()
		later := time.Unix(0, clock.Load()).Add(time.Second)
		if got := r.RemainingAt(later); got != 50 {
			t.Fatalf("round %d: %d remaining once every slot left, want 50 (past %d)", round, got, r.past.Load())
		}
		if p := r.past.Load(); p != 0 {
			t.Fatalf("round %d: past %d after draining", round, p)
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
