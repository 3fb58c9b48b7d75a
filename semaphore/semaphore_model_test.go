package semaphore

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestModelConcurrent has many goroutines TryAcquire, Acquire (with random
// cancellation) and Release random weights, while an independent counter
// tracks what they believe they hold: it must never exceed the capacity, and
// everything must end at 0 with nobody queued.
func TestModelConcurrent(t *testing.T) {
	const (
		capacity   = 10
		goroutines = 16
		ops        = 400
	)
	s := NewWeighted(capacity)
	var held, peak atomic.Int64
	var wg sync.WaitGroup
	take := func(n int64) {
		h := held.Add(n)
		if h > capacity {
			t.Errorf("held %d > capacity %d", h, capacity)
		}
		for p := peak.Load(); h > p && !peak.CompareAndSwap(p, h); p = peak.Load() {
		}
	}
	give := func(n int64) {
		held.Add(-n)
		s.Release(n)
	}
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for range ops {
				n := 1 + rng.Int64N(4)
				switch rng.IntN(4) {
				case 0:
					if s.TryAcquire(n) {
						take(n)
						runtime.Gosched()
						give(n)
					}
				case 1: // Acquire that is cancelled at a random moment
					ctx, cancel := context.WithCancel(context.Background())
					spins := rng.IntN(3)
					var cwg sync.WaitGroup
					cwg.Go(func() {
						for range spins {
							runtime.Gosched()
						}
						cancel()
					})
					err := s.Acquire(ctx, n)
					cwg.Wait()
					if err == nil {
						take(n)
						give(n)
					} else if err != context.Canceled {
						t.Errorf("Acquire: %v", err)
					}
				default: // Acquire that waits as long as it takes
					if err := s.Acquire(context.Background(), n); err != nil {
						t.Errorf("Acquire: %v", err)
						continue
					}
					take(n)
					runtime.Gosched()
					give(n)
				}
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(0), held.Load())
	assert.Equal(t, int64(0), s.Held())
	assert.Equal(t, 0, s.Waiters())
	assert.True(t, s.TryAcquire(capacity), "all weight is back and the fast path works")
	s.Release(capacity)
	assert.Greater(t, peak.Load(), int64(capacity/2), "the run reached contention")
}

// TestModelConcurrentSetCapacity changes the capacity between 3 and 8 while
// goroutines acquire and release: the held weight never exceeds the largest
// capacity, no waiter is stranded, and the books balance at the end.
func TestModelConcurrentSetCapacity(t *testing.T) {
	s := NewWeighted(8)
	var held atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				s.SetCapacity(8)
				return
			default:
			}
			s.SetCapacity(3 + int64(i%6))
			runtime.Gosched()
		}
	})
	var workers sync.WaitGroup
	for g := range 8 {
		workers.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 11))
			for range 300 {
				n := 1 + rng.Int64N(3)
				ok := s.TryAcquire(n)
				if !ok {
					err := s.Acquire(context.Background(), n)
					if err == ErrTooLarge {
						continue // the capacity was below n at that moment
					}
					if !assert.NoError(t, err) {
						continue
					}
				}
				if h := held.Add(n); h > 8 {
					t.Errorf("held %d > 8", h)
				}
				runtime.Gosched()
				held.Add(-n)
				s.Release(n)
			}
		})
	}
	workers.Wait()
	close(stop)
	wg.Wait()
	assert.Equal(t, int64(0), s.Held())
	assert.Equal(t, int64(8), s.Capacity())
	assert.True(t, s.TryAcquire(8))
	s.Release(8)
}
