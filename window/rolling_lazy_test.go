package window

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The ring of slot words is allocated by the first roll that records a
// slot; until then no word can hold credits. Many goroutines making that
// first roll at once must agree on one ring and lose no credits: what is
// spent counts until its slot leaves the window, then all of it comes back.
func TestLazyRingFirstRoll(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Hold each allocator until a second one has allocated too (or a
	// millisecond passed), so that rings race to be published.
	var arrived atomic.Int32
	ringHook = func() {
		arrived.Add(1)
		for deadline := time.Now().Add(time.Millisecond); arrived.Load() < 2 && time.Now().Before(deadline); {
			runtime.Gosched()
		}
	}
	defer func() { ringHook = nil }()
	raced := 0
	for round := range 300 {
		arrived.Store(0)
		r, err := NewRolling(1000, 10*time.Second, WithSlots(5)) // 2 s slots, a ring of 6: allocated lazily
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := r.TryAcquireAt(t0, 10); !ok || r.RingAllocated() {
			t.Fatalf("round %d: first take ok=%v, ring allocated %v before any roll", round, ok, r.RingAllocated())
		}
		const g = 4
		var wg sync.WaitGroup
		var mu sync.Mutex
		took := int64(0)
		for k := range g {
			wg.Go(func() {
				n := int64(k + 1)
				// Each in a later slot: their rolls record slots 0 to 3 at
				// once, each maybe allocating the ring.
				if ok, _ := r.TryAcquireAt(t0.Add(time.Duration(k+1)*2*time.Second+time.Millisecond), n); ok {
					mu.Lock()
					took += n
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if arrived.Load() >= 2 {
			raced++
		}
		if !r.RingAllocated() {
			t.Fatalf("round %d: rolled to slot 1 and the ring is still nil", round)
		}
		if got, want := r.RemainingAt(t0.Add(9*time.Second)), 1000-10-took; got != want {
			t.Fatalf("round %d: %d remaining after 10 and %d, want %d", round, got, took, want)
		}
		// Slot 4 (the last taken in) leaves the window at 20 s.
		if got := r.RemainingAt(t0.Add(20 * time.Second)); got != 1000 {
			t.Fatalf("round %d: %d remaining once every slot left, want 1000", round, got)
		}
	}
	if raced == 0 {
		t.Fatal("no two rolls ever raced to allocate the ring: the test tests nothing")
	}
	t.Logf("%d of 300 rounds had racing allocations", raced)
}
