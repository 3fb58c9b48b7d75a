package semaphore

import (
	"context"
	"sync"
	"testing"

	xsem "golang.org/x/sync/semaphore"
)

// benchSem is the test-only interface the benchmarks run every
// implementation through: ours, x/sync/semaphore, and a naive mutex version.
type benchSem interface {
	TryAcquire(n int64) bool
	Acquire(ctx context.Context, n int64) error
	Release(n int64)
}

// naiveSem is the obvious mutex-and-channels semaphore, as a baseline.
type naiveSem struct {
	mu      sync.Mutex // protects cur and waiters
	size    int64
	cur     int64
	waiters []naiveWaiter
}

type naiveWaiter struct {
	n     int64
	ready chan struct{}
}

func (s *naiveSem) TryAcquire(n int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.waiters) == 0 && s.size-s.cur >= n {
		s.cur += n
		return true
	}
	return false
}

func (s *naiveSem) Acquire(ctx context.Context, n int64) error {
	s.mu.Lock()
	if len(s.waiters) == 0 && s.size-s.cur >= n {
		s.cur += n
		s.mu.Unlock()
		return nil
	}
	w := naiveWaiter{n: n, ready: make(chan struct{})}
	s.waiters = append(s.waiters, w)
	s.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, o := range s.waiters {
			if o.ready == w.ready {
				s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
				return ctx.Err()
			}
		}
		s.cur -= n // granted meanwhile: give it back
		s.notify()
		return ctx.Err()
	}
}

func (s *naiveSem) Release(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur -= n
	s.notify()
}

func (s *naiveSem) notify() {
	for len(s.waiters) > 0 && s.size-s.cur >= s.waiters[0].n {
		s.cur += s.waiters[0].n
		close(s.waiters[0].ready)
		s.waiters = s.waiters[1:]
	}
}

var benchImpls = []struct {
	name string
	new  func(capacity int64) benchSem
}{
	{"impl=creditgate", func(c int64) benchSem { return NewWeighted(c) }},
	{"impl=xsync", func(c int64) benchSem { return xsem.NewWeighted(c) }},
	{"impl=naive", func(c int64) benchSem { return &naiveSem{size: c} }},
}

// BenchmarkTryAcquireRelease is the non-blocking hot path, one goroutine.
func BenchmarkTryAcquireRelease(b *testing.B) {
	for _, impl := range benchImpls {
		b.Run(impl.name, func(b *testing.B) {
			s := impl.new(1 << 20)
			b.ReportAllocs()
			for b.Loop() {
				if s.TryAcquire(1) {
					s.Release(1)
				}
			}
		})
	}
}

// BenchmarkTryAcquireReleaseDirect calls the concrete types, as a user
// would, so the compiler may inline what it can.
func BenchmarkTryAcquireReleaseDirect(b *testing.B) {
	b.Run("impl=creditgate", func(b *testing.B) {
		s := NewWeighted(1 << 20)
		b.ReportAllocs()
		for b.Loop() {
			if s.TryAcquire(1) {
				s.Release(1)
			}
		}
	})
	b.Run("impl=xsync", func(b *testing.B) {
		s := xsem.NewWeighted(1 << 20)
		b.ReportAllocs()
		for b.Loop() {
			if s.TryAcquire(1) {
				s.Release(1)
			}
		}
	})
}

// BenchmarkTryAcquireReleaseParallel is the same path from GOMAXPROCS
// goroutines on one semaphore that never fills.
func BenchmarkTryAcquireReleaseParallel(b *testing.B) {
	for _, impl := range benchImpls {
		b.Run(impl.name, func(b *testing.B) {
			s := impl.new(1 << 20)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if s.TryAcquire(1) {
						s.Release(1)
					}
				}
			})
		})
	}
}

// acquireReleaseLoop is the RunParallel body of the Acquire benchmarks:
// Acquire(ctx, 1) then Release(1) on s.
func acquireReleaseLoop(b *testing.B, s benchSem) func(*testing.PB) {
	ctx := context.Background()
	return func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Acquire(ctx, 1); err != nil {
				b.Error(err)
				return
			}
			s.Release(1)
		}
	}
}

// BenchmarkAcquireRelease: Acquire(ctx)+Release, uncontended (capacity far
// above the number of goroutines) and contended (capacity 1, so goroutines
// queue and are handed the slot in turn).
func BenchmarkAcquireRelease(b *testing.B) {
	for _, c := range []struct {
		name     string
		capacity int64
	}{{"contention=none", 1 << 20}, {"contention=capacity1", 1}} {
		for _, impl := range benchImpls {
			b.Run(c.name+"/"+impl.name, func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(acquireReleaseLoop(b, impl.new(c.capacity)))
			})
		}
	}
}

// BenchmarkAcquireReleaseWaiters keeps the semaphore full so that every
// Acquire queues behind others: the slow path of each implementation.
func BenchmarkAcquireReleaseWaiters(b *testing.B) {
	for _, impl := range benchImpls {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(4)
			b.RunParallel(acquireReleaseLoop(b, impl.new(2)))
		})
	}
}

// BenchmarkGroupTryAcquireRelease: an existing key, the server-side path.
func BenchmarkGroupTryAcquireRelease(b *testing.B) {
	g, err := NewGroup(1024, func(string) int64 { return 1 << 20 })
	if err != nil {
		b.Fatal(err)
	}
	keys := []string{"app-1", "app-2", "app-3", "app-4"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if s, ok := g.TryAcquire(keys[i&3], 1); ok {
				s.Release(1)
			}
			i++
		}
	})
}
