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
	checkCapacityChurn(t, s, 8, 300, func(i int) int64 { return 3 + int64(i%6) }, func(n int64) bool {
		if s.TryAcquire(n) {
			return true
		}
		err := s.Acquire(context.Background(), n)
		if err == ErrTooLarge {
			return false // the capacity was below n at that moment
		}
		return assert.NoError(t, err)
	})
}

// churnSem is what checkCapacityChurn needs of a semaphore.
type churnSem interface {
	Release(int64)
	SetCapacity(int64)
	Held() int64
	Capacity() int64
	TryAcquire(int64) bool
}

// checkCapacityChurn has 8 goroutines take weights of 1 to 3 with acquire
// and give them back, ops times each, while another sets the capacity to
// capAt(i) for i = 0, 1, ... until they are done, then to maxCap: what they
// believe they hold never exceeds maxCap, the largest capacity in force, and
// at the end nothing is held and all of maxCap can be taken.
func checkCapacityChurn(t *testing.T, s churnSem, maxCap int64, ops int, capAt func(int) int64, acquire func(n int64) bool) {
	t.Helper()
	var held atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				s.SetCapacity(maxCap)
				return
			default:
			}
			s.SetCapacity(capAt(i))
			runtime.Gosched()
		}
	})
	var workers sync.WaitGroup
	for g := range 8 {
		workers.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 11))
			for range ops {
				n := 1 + rng.Int64N(3)
				if !acquire(n) {
					continue
				}
				if h := held.Add(n); h > maxCap {
					t.Errorf("held %d > %d", h, maxCap)
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
	assert.Equal(t, int64(0), held.Load())
	assert.Equal(t, int64(0), s.Held())
	assert.Equal(t, maxCap, s.Capacity())
	assert.True(t, s.TryAcquire(maxCap), "all of it free at the end")
	s.Release(maxCap)
}
