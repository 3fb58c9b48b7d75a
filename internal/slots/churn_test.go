package slots

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A copy of package semaphore's churn check (internal test helpers cannot
// be shared between packages' tests).

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
