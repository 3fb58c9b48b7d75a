//go:build creditgate_testhooks

package semaphore

import (
	"context"
	"testing"
)

// A take or release whose compare-and-swap loses to another caller's change
// backs off once and tries again against the new state: it takes or
// refuses by what is available then, and no weight is lost or counted
// twice.
func TestLostSwapBacksOffAndRetries(t *testing.T) {
	take := func(s *Weighted, n int64) bool { return s.TryAcquire(n) }
	cases := []struct {
		name     string
		held     int64                  // held before the call
		cut      func(s *Weighted)      // the other caller's change, between load and swap
		call     func(s *Weighted) bool // the call under test
		wantOK   bool
		wantHeld int64
	}{
		{"TryAcquire fits after", 0, func(s *Weighted) { take(s, 2) }, func(s *Weighted) bool { return s.TryAcquire(3) }, true, 5},
		{"TryAcquire refused after", 0, func(s *Weighted) { take(s, 8) }, func(s *Weighted) bool { return s.TryAcquire(3) }, false, 8},
		{"tryAcquire fits after", 0, func(s *Weighted) { take(s, 2) }, func(s *Weighted) bool { return s.tryAcquire(3) == tryOK }, true, 5},
		{"tryAcquire refused after", 0, func(s *Weighted) { take(s, 8) }, func(s *Weighted) bool { return s.tryAcquire(3) == tryOK }, false, 8},
		{"Acquire fast path", 0, func(s *Weighted) { take(s, 2) }, func(s *Weighted) bool { return s.Acquire(context.Background(), 3) == nil }, true, 5},
		{"release", 6, func(s *Weighted) { s.Release(1) }, func(s *Weighted) bool { s.release(2); return true }, true, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewWeighted(10)
			if c.held > 0 && !s.TryAcquire(c.held) {
				t.Fatal("setup: TryAcquire refused")
			}
			backoffs := 0
			casHook = func() {
				casHook = nil // once: the retry's swap must succeed
				c.cut(s)
			}
			backoffHook = func() { backoffs++ }
			defer func() { casHook, backoffHook = nil, nil }()
			if ok := c.call(s); ok != c.wantOK {
				t.Fatalf("call = %v, want %v", ok, c.wantOK)
			}
			if casHook != nil {
				t.Fatal("the call never reached its swap")
			}
			if backoffs != 1 {
				t.Fatalf("backed off %d times after one lost swap, want 1", backoffs)
			}
			if got := s.Held(); got != c.wantHeld {
				t.Fatalf("Held() = %d, want %d", got, c.wantHeld)
			}
		})
	}
}
