//go:build creditgate_testhooks

package semaphore

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// A call whose compare-and-swap does not lose never backs off: not when it
// takes, not when it refuses (no weight, a waiter queued, a retired
// semaphore), not when Acquire falls to its queue, and not when a release
// hands its weight to a waiter under the mutex. Catches a backoff moved onto
// one of the loops' exits (Acquire's break to acquireSlow, release's break to
// releaseSlow, a refusal) or ahead of the swap, where a caller alone on its
// word would wait a microsecond for nobody.
func TestBacksOffOnlyAfterLostSwap_r132(t *testing.T) {
	var backoffs atomic.Int32
	casHook = nil
	backoffHook = func() { backoffs.Add(1) }
	defer func() { backoffHook = nil }()
	check := func(step string) {
		t.Helper()
		if n := backoffs.Swap(0); n != 0 {
			t.Fatalf("%s: backed off %d times with no lost swap", step, n)
		}
	}

	s := NewWeighted(10)
	if !s.TryAcquire(4) {
		t.Fatal("TryAcquire(4) refused")
	}
	check("TryAcquire takes")
	if s.TryAcquire(7) {
		t.Fatal("TryAcquire(7) took with 6 available")
	}
	check("TryAcquire refused: no weight")
	if s.tryAcquire(2) != tryOK || s.tryAcquire(5) != tryRefused {
		t.Fatal("tryAcquire")
	}
	check("tryAcquire takes and refuses")
	if err := s.Acquire(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	check("Acquire's fast path")
	s.Release(1)
	s.release(2)
	check("Release and release, nobody queued")

	// held 4: Acquire(7) falls to the queue and times out.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	err := s.Acquire(ctx, 7)
	cancel()
	if err == nil {
		t.Fatal("Acquire(7) with 6 available succeeded")
	}
	check("Acquire falls to its queue")

	// A waiter queued: TryAcquire, tryAcquire and Acquire step aside,
	// Release goes through the mutex and hands the weight on.
	got := make(chan error, 2)
	go func() { got <- s.Acquire(context.Background(), 8) }()
	waitQueued(t, s, 1)
	if s.TryAcquire(1) || s.tryAcquire(1) != tryRefused {
		t.Fatal("a try overtook the waiter")
	}
	go func() { got <- s.Acquire(context.Background(), 1) }()
	waitQueued(t, s, 2)
	check("tries and Acquire behind a waiter")
	s.Release(4) // 10 free: the waiter of 8 and the one of 1 behind it
	for range 2 {
		if err := <-got; err != nil {
			t.Fatal(err)
		}
	}
	check("Release to waiters")
	s.Release(9)

	// Retired: every try refuses without a swap.
	if !s.retire() {
		t.Fatal("retire of an idle semaphore failed")
	}
	if s.TryAcquire(1) || s.tryAcquire(1) != tryDead {
		t.Fatal("a retired semaphore took weight")
	}
	check("tries on a retired semaphore")
}
