package window

import (
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
