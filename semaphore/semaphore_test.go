package semaphore

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitQueued spins (without sleeping) until s has k queued waiters.
func waitQueued(t testing.TB, s *Weighted, k int) {
	t.Helper()
	for i := 0; s.Waiters() != k; i++ {
		if i > 10_000_000 {
			t.Fatalf("waiters = %d, want %d", s.Waiters(), k)
		}
		runtime.Gosched()
	}
}

// acquireAsync starts Acquire in a goroutine and returns its result channel.
func acquireAsync(ctx context.Context, s *Weighted, n int64) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- s.Acquire(ctx, n) }()
	return ch
}

// recv waits for an Acquire result. The timer is only a watchdog that turns
// a regression into a failure instead of a hung test run; passing tests
// never wait on it.
func recv(t testing.TB, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Acquire did not return")
		return nil
	}
}

// watchdog returns a context that ends after 10 s: only a guard that turns a
// hang into a failure; passing tests never reach it.
func watchdog(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func pending(ch <-chan error) bool {
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

func TestTryAcquireRelease(t *testing.T) {
	s := NewWeighted(3)
	assert.True(t, s.TryAcquire(2))
	assert.False(t, s.TryAcquire(2), "only 1 left")
	assert.True(t, s.TryAcquire(1))
	assert.False(t, s.TryAcquire(1))
	assert.Equal(t, int64(3), s.Held())
	s.Release(3)
	assert.Equal(t, int64(0), s.Held())
	assert.True(t, s.TryAcquire(3))
	s.Release(3)
}

func TestZeroValueRefusesUntilSetCapacity(t *testing.T) {
	var s Weighted
	assert.Equal(t, int64(0), s.Capacity())
	assert.True(t, s.TryAcquire(0))
	assert.False(t, s.TryAcquire(1))
	assert.ErrorIs(t, s.Acquire(context.Background(), 1), ErrTooLarge)
	assert.PanicsWithValue(t, errReleasedMore, func() { s.Release(1) })
	s.SetCapacity(2)
	assert.True(t, s.TryAcquire(2))
	s.Release(2)
}

func TestNewWeightedClamps(t *testing.T) {
	assert.Equal(t, int64(0), NewWeighted(-5).Capacity())
	big := NewWeighted(1 << 62)
	assert.Equal(t, int64(MaxCapacity), big.Capacity())
	assert.True(t, big.TryAcquire(MaxCapacity))
	assert.Equal(t, int64(MaxCapacity), big.Held())
	big.SetCapacity(0) // avail goes to -MaxCapacity without overflow
	assert.Equal(t, int64(MaxCapacity), big.Held())
	big.Release(MaxCapacity)
	assert.Equal(t, int64(0), big.Held())
}

func TestNonPositiveWeights(t *testing.T) {
	s := NewWeighted(1)
	assert.True(t, s.TryAcquire(0))
	assert.False(t, s.TryAcquire(-1))
	assert.NoError(t, s.Acquire(context.Background(), 0))
	assert.ErrorIs(t, s.Acquire(context.Background(), -1), ErrNegative)
	s.Release(0)
	assert.PanicsWithValue(t, errNegRelease, func() { s.Release(-1) })
	assert.Equal(t, int64(0), s.Held())
}

func TestReleaseMoreThanHeldPanics(t *testing.T) {
	s := NewWeighted(4)
	require.True(t, s.TryAcquire(2))
	assert.PanicsWithValue(t, "semaphore: released more than held", func() { s.Release(3) })
	assert.PanicsWithValue(t, errReleasedMore, func() { s.Release(1 << 62) })
	assert.Equal(t, int64(2), s.Held(), "a refused release changes nothing")
	// Same through the slow path (a waiter is queued).
	ch := acquireAsync(context.Background(), s, 4)
	waitQueued(t, s, 1)
	assert.PanicsWithValue(t, errReleasedMore, func() { s.Release(3) })
	s.Release(2)
	require.NoError(t, recv(t, ch))
	s.Release(4)
}

func TestAcquireTooLargeFailsAtOnce(t *testing.T) {
	s := NewWeighted(2)
	assert.ErrorIs(t, s.Acquire(context.Background(), 3), ErrTooLarge)
	assert.Equal(t, 0, s.Waiters())
}

func TestAcquireDoneContextFailsEvenIfAvailable(t *testing.T) {
	s := NewWeighted(2)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.Equal(t, context.Canceled, s.Acquire(ctx, 1), "ctx.Err() unchanged")
	assert.Equal(t, int64(0), s.Held())
}

func TestAcquireWaitsForRelease(t *testing.T) {
	s := NewWeighted(2)
	require.True(t, s.TryAcquire(2))
	ch := acquireAsync(context.Background(), s, 1)
	waitQueued(t, s, 1)
	assert.True(t, pending(ch))
	assert.False(t, s.TryAcquire(0) && s.TryAcquire(1), "full")
	s.Release(1)
	require.NoError(t, recv(t, ch))
	assert.Equal(t, int64(2), s.Held())
	s.Release(2)
	assert.True(t, s.TryAcquire(2), "fast path back once the queue is empty")
	s.Release(2)
}

func TestFIFOOrder(t *testing.T) {
	const n = 8
	s := NewWeighted(1)
	require.True(t, s.TryAcquire(1))
	woke := make(chan int, n)
	for i := range n {
		go func() {
			if err := s.Acquire(context.Background(), 1); err == nil {
				woke <- i
			}
		}()
		waitQueued(t, s, i+1) // queue them one at a time: order is known
	}
	for i := range n {
		s.Release(1) // hands the slot to the head of the queue
		assert.Equal(t, i, <-woke)
	}
	s.Release(1)
	assert.Equal(t, int64(0), s.Held())
}

func TestBigWaiterAtHeadBlocksSmallOnes(t *testing.T) {
	s := NewWeighted(4)
	require.True(t, s.TryAcquire(3))
	big := acquireAsync(context.Background(), s, 4)
	waitQueued(t, s, 1)
	small := acquireAsync(context.Background(), s, 1)
	waitQueued(t, s, 2)

	assert.False(t, s.TryAcquire(1), "TryAcquire must not overtake the queue")
	s.Release(1) // 2 free: the small one would fit, but must not overtake
	assert.Equal(t, 2, s.Waiters())
	assert.True(t, pending(big))
	assert.True(t, pending(small))

	s.Release(2) // 4 free: the big one at the head gets it, no starvation
	require.NoError(t, recv(t, big))
	assert.Equal(t, 1, s.Waiters())
	assert.True(t, pending(small))

	s.Release(4)
	require.NoError(t, recv(t, small))
	s.Release(1)
	assert.Equal(t, int64(0), s.Held())
}

// TestBigWaiterNotStarvedUnderLoad: small users keep taking and returning
// one slot each, which would starve a request for the whole capacity if they
// could overtake it. Once it is queued they are refused until it is served.
func TestBigWaiterNotStarvedUnderLoad(t *testing.T) {
	const capacity = 4
	s := NewWeighted(capacity)
	served := make(chan struct{})
	var ops atomic.Int64
	var wg sync.WaitGroup
	for g := range capacity {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-served:
					return
				default:
				}
				if i > 200_000 {
					t.Error("the big waiter starved")
					return
				}
				ops.Add(1)
				if g%2 == 0 {
					if s.TryAcquire(1) {
						runtime.Gosched()
						s.Release(1)
					}
				} else if err := s.Acquire(context.Background(), 1); err == nil {
					runtime.Gosched()
					s.Release(1)
				}
				runtime.Gosched()
			}
		})
	}
	for ops.Load() < 2000 { // the small users are running
		runtime.Gosched()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // watchdog only
	defer cancel()
	require.NoError(t, s.Acquire(ctx, capacity), "the big waiter starved")
	close(served)
	s.Release(capacity)
	wg.Wait()
	assert.Equal(t, int64(0), s.Held())
}

func TestCancelledHeadUnblocksWaitersBehind(t *testing.T) {
	s := NewWeighted(2)
	require.True(t, s.TryAcquire(2))
	ctx, cancel := context.WithCancel(context.Background())
	big := acquireAsync(ctx, s, 2)
	waitQueued(t, s, 1)
	small := acquireAsync(context.Background(), s, 1)
	waitQueued(t, s, 2)
	s.Release(1)
	assert.True(t, pending(small))

	cancel()
	assert.Equal(t, context.Canceled, recv(t, big))
	require.NoError(t, recv(t, small), "the cancelled head must not keep blocking")
	assert.Equal(t, int64(2), s.Held())
	s.Release(2)
	assert.Equal(t, 0, s.Waiters())
	assert.True(t, s.TryAcquire(2))
	s.Release(2)
}

func TestCancelledMiddleWaiterLeavesNoWeight(t *testing.T) {
	s := NewWeighted(1)
	require.True(t, s.TryAcquire(1))
	first := acquireAsync(context.Background(), s, 1)
	waitQueued(t, s, 1)
	ctx, cancel := context.WithCancel(context.Background())
	mid := acquireAsync(ctx, s, 1)
	waitQueued(t, s, 2)
	last := acquireAsync(context.Background(), s, 1)
	waitQueued(t, s, 3)
	cancel()
	assert.Equal(t, context.Canceled, recv(t, mid))
	assert.Equal(t, 2, s.Waiters())
	s.Release(1)
	require.NoError(t, recv(t, first))
	s.Release(1)
	require.NoError(t, recv(t, last))
	s.Release(1)
	assert.Equal(t, int64(0), s.Held())
}

func TestSetCapacityUpWakesWaiters(t *testing.T) {
	s := NewWeighted(1)
	require.True(t, s.TryAcquire(1))
	a := acquireAsync(context.Background(), s, 1)
	waitQueued(t, s, 1)
	b := acquireAsync(context.Background(), s, 1)
	waitQueued(t, s, 2)
	s.SetCapacity(3)
	require.NoError(t, recv(t, a))
	require.NoError(t, recv(t, b))
	assert.Equal(t, int64(3), s.Held())
	assert.Equal(t, int64(3), s.Capacity())
	s.Release(3)
}

func TestSetCapacityDownKeepsHeldWeight(t *testing.T) {
	s := NewWeighted(4)
	require.True(t, s.TryAcquire(3))
	s.SetCapacity(2)
	assert.Equal(t, int64(2), s.Capacity())
	assert.Equal(t, int64(3), s.Held(), "nothing held is lost")
	assert.False(t, s.TryAcquire(1))
	s.Release(2)
	assert.True(t, s.TryAcquire(1))
	assert.False(t, s.TryAcquire(1), "nothing invented either")
	s.Release(2)
	assert.PanicsWithValue(t, errReleasedMore, func() { s.Release(1) })
	assert.Equal(t, int64(0), s.Held())
	s.SetCapacity(2) // no change
	assert.True(t, s.TryAcquire(2))
	s.Release(2)
}

func TestSetCapacityDownFailsWaitersThatNoLongerFit(t *testing.T) {
	s := NewWeighted(4)
	require.True(t, s.TryAcquire(4))
	big := acquireAsync(context.Background(), s, 3)
	waitQueued(t, s, 1)
	small := acquireAsync(context.Background(), s, 1)
	waitQueued(t, s, 2)
	s.SetCapacity(2)
	assert.ErrorIs(t, recv(t, big), ErrTooLarge)
	assert.Equal(t, 1, s.Waiters())
	s.Release(3) // held 1 < 2
	require.NoError(t, recv(t, small))
	assert.Equal(t, int64(2), s.Held())
	s.Release(2)
}

func TestHeldDuringSetCapacity(t *testing.T) {
	s := NewWeighted(10)
	require.True(t, s.TryAcquire(3))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 2000 {
			s.SetCapacity(int64(5 + i%10))
		}
	}()
	for range 2000 {
		require.Equal(t, int64(3), s.Held())
	}
	<-done
	s.Release(3)
}

func TestTryAcquireAndReleaseDoNotAllocate(t *testing.T) {
	s := NewWeighted(4)
	allocs := testing.AllocsPerRun(1000, func() {
		if s.TryAcquire(2) {
			s.Release(2)
		}
	})
	assert.Zero(t, allocs)
}

func TestErrorsArePrefixed(t *testing.T) {
	for _, err := range []error{ErrTooLarge, ErrNegative, ErrEvicted, ErrTooManyKeys, ErrInvalidMaxKeys, ErrNilCapacity} {
		assert.Regexp(t, `^semaphore: [a-z]`, err.Error())
		assert.False(t, errors.Is(err, context.Canceled))
	}
}
