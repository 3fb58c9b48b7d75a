package semaphore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestGroup(t testing.TB, maxKeys int, capacity int64) *Group {
	t.Helper()
	g, err := NewGroup(maxKeys, func(string) int64 { return capacity })
	require.NoError(t, err)
	return g
}

func TestNewGroupRejectsBadConfig(t *testing.T) {
	_, err := NewGroup(0, func(string) int64 { return 1 })
	assert.ErrorIs(t, err, ErrInvalidMaxKeys)
	_, err = NewGroup(-1, func(string) int64 { return 1 })
	assert.ErrorIs(t, err, ErrInvalidMaxKeys)
	_, err = NewGroup(4, nil)
	assert.ErrorIs(t, err, ErrNilCapacity)
}

func TestGroupCreatesPerKeySemaphores(t *testing.T) {
	caps := map[string]int64{"free": 5, "ultimate": 25}
	g, err := NewGroup(10, func(k string) int64 { return caps[k] })
	require.NoError(t, err)

	s, ok := g.TryAcquire("free", 5)
	require.True(t, ok)
	assert.Equal(t, int64(5), s.Capacity())
	_, ok = g.TryAcquire("free", 1)
	assert.False(t, ok, "free is full")
	u, ok := g.TryAcquire("ultimate", 25)
	require.True(t, ok, "keys are independent")
	assert.NotSame(t, s, u)
	again, ok := g.TryAcquire("free", 0)
	require.True(t, ok)
	assert.Same(t, s, again, "one semaphore per key")
	assert.Equal(t, 2, g.Len())

	_, ok = g.TryAcquire("unknown", 1)
	assert.False(t, ok, "capacity 0 refuses")
	_, err = g.Acquire(context.Background(), "unknown", 1)
	assert.ErrorIs(t, err, ErrTooLarge)
	s.Release(5)
	u.Release(25)
}

func TestGroupBoundWithBusyKeys(t *testing.T) {
	g := newTestGroup(t, 3, 1)
	held := map[string]*Weighted{}
	for _, k := range []string{"a", "b", "c"} {
		s, ok := g.TryAcquire(k, 1)
		require.True(t, ok)
		held[k] = s
	}
	_, ok := g.TryAcquire("d", 1)
	assert.False(t, ok)
	_, err := g.Acquire(context.Background(), "d", 1)
	assert.ErrorIs(t, err, ErrTooManyKeys)
	assert.Equal(t, 3, g.Len())

	held["a"].Release(1) // a is idle now: d may take its place
	d, ok := g.TryAcquire("d", 1)
	require.True(t, ok)
	assert.Equal(t, 3, g.Len())
	assert.Equal(t, 0, g.Sweep(), "every key is busy")

	// a was retired: its old semaphore refuses, and a new key needs room.
	assert.False(t, held["a"].TryAcquire(1))
	assert.ErrorIs(t, held["a"].Acquire(watchdog(t), 1), ErrEvicted)
	assert.PanicsWithValue(t, errReleasedMore, func() { held["a"].Release(1) })
	_, ok = g.TryAcquire("a", 1)
	assert.False(t, ok, "full again")

	for _, k := range []string{"b", "c"} {
		held[k].Release(1)
	}
	d.Release(1)
	assert.Equal(t, 3, g.Sweep())
	assert.Equal(t, 0, g.Len())
}

func TestGroupKeyWithWaitersIsNotEvicted(t *testing.T) {
	g := newTestGroup(t, 1, 1)
	s, err := g.Acquire(context.Background(), "a", 1)
	require.NoError(t, err)
	ch := make(chan error, 1)
	go func() {
		_, err := g.Acquire(watchdog(t), "a", 1)
		ch <- err
	}()
	waitQueued(t, s, 1)
	s.Release(1) // hands a's slot to the waiter: still busy
	require.NoError(t, recv(t, ch))
	_, ok := g.TryAcquire("b", 1)
	assert.False(t, ok)
	assert.Equal(t, 0, g.Sweep())
	s.Release(1)
	_, ok = g.TryAcquire("b", 1)
	assert.True(t, ok, "a is idle and evicted for b")
}

func TestGroupFloodOfKeysStaysBounded(t *testing.T) {
	const maxKeys = 64
	g := newTestGroup(t, maxKeys, 2)
	for i := range 20_000 {
		s, ok := g.TryAcquire(fmt.Sprintf("ip-%d", i), 1)
		require.True(t, ok, "idle keys make room")
		s.Release(1)
		require.LessOrEqual(t, g.Len(), maxKeys)
	}
	assert.Equal(t, maxKeys, g.Len())
	total := 0
	for i := range g.shards {
		total += len(g.shards[i].m)
	}
	assert.Equal(t, maxKeys, total, "the maps hold exactly the live keys")
}

func TestGroupTryAcquireExistingKeyDoesNotAllocate(t *testing.T) {
	g := newTestGroup(t, 128, 4)
	s, ok := g.TryAcquire("app", 1)
	require.True(t, ok)
	s.Release(1)
	allocs := testing.AllocsPerRun(1000, func() {
		if s, ok := g.TryAcquire("app", 1); ok {
			s.Release(1)
		}
	})
	assert.Zero(t, allocs)
}

// TestGroupEvictionNeverDoublesCapacity: goroutines acquire and release on
// more keys than the Group may hold, so keys are evicted and recreated all
// the time; an independent per-key counter must never exceed the capacity,
// which it would if two live semaphores ever existed for one key.
func TestGroupEvictionNeverDoublesCapacity(t *testing.T) {
	const (
		maxKeys  = 4
		keys     = 8
		capacity = 2
	)
	g := newTestGroup(t, maxKeys, capacity)
	var held [keys]atomic.Int64
	var acquired atomic.Int64
	var wg sync.WaitGroup
	watch := watchdog(t)
	for w := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			for range 2000 {
				k := rng.IntN(keys)
				n := 1 + rng.Int64N(capacity)
				var s *Weighted
				if rng.IntN(2) == 0 {
					var ok bool
					if s, ok = g.TryAcquire(fmt.Sprint(k), n); !ok {
						continue
					}
				} else {
					ctx, cancel := context.WithCancel(watch)
					if rng.IntN(4) == 0 {
						cancel()
					}
					var err error
					s, err = g.Acquire(ctx, fmt.Sprint(k), n)
					cancel()
					if err != nil {
						if err != ErrTooManyKeys && err != context.Canceled {
							t.Errorf("Acquire: %v", err)
						}
						continue
					}
				}
				acquired.Add(1)
				if h := held[k].Add(n); h > capacity {
					t.Errorf("key %d: held %d > capacity %d", k, h, capacity)
				}
				runtime.Gosched()
				held[k].Add(-n)
				s.Release(n)
				if rng.IntN(50) == 0 {
					g.Sweep()
				}
			}
		})
	}
	wg.Wait()
	assert.Greater(t, acquired.Load(), int64(1000))
	assert.LessOrEqual(t, g.Len(), maxKeys)
	assert.Equal(t, g.Len(), g.Sweep(), "everything is idle at the end")
	assert.Equal(t, 0, g.Len())
}

func TestGroupAcquireWaitsAndCancels(t *testing.T) {
	g := newTestGroup(t, 4, 1)
	s, err := g.Acquire(context.Background(), "app", 1)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(watchdog(t))
	cancelled := make(chan error, 1)
	go func() {
		_, err := g.Acquire(ctx, "app", 1)
		cancelled <- err
	}()
	waitQueued(t, s, 1)
	served := make(chan error, 1)
	go func() {
		s2, err := g.Acquire(watchdog(t), "app", 1)
		if err == nil && s2 != s {
			err = errors.New("a second semaphore for one key")
		}
		served <- err
	}()
	waitQueued(t, s, 2)
	cancel()
	assert.Equal(t, context.Canceled, recv(t, cancelled))
	s.Release(1)
	require.NoError(t, recv(t, served))
	assert.Equal(t, int64(1), s.Held())
	s.Release(1)
	assert.Equal(t, 1, g.Sweep())
}

// TestGroupAcquireCancelledBeforeGrant: Group.Acquire goes through
// Weighted.Acquire, so go.dev/issue/63615 is fixed for it too: a grant that
// meets an ended context is given back, and nothing stays held on the key.
func TestGroupAcquireCancelledBeforeGrant(t *testing.T) {
	reached, proceed := make(chan struct{}), make(chan struct{})
	testHookQueued = func() { reached <- struct{}{}; <-proceed }
	defer func() { testHookQueued = nil }()

	g := newTestGroup(t, 4, 1)
	for i := range 64 {
		s, ok := g.TryAcquire("app", 1)
		require.True(t, ok)
		ctx, cancel := context.WithCancel(context.Background())
		type result struct {
			s   *Weighted
			err error
		}
		ch := make(chan result, 1)
		go func() {
			s, err := g.Acquire(ctx, "app", 1)
			ch <- result{s, err}
		}()
		<-reached
		cancel()
		s.Release(1) // grants the slot to the waiter whose context has ended
		proceed <- struct{}{}
		r := <-ch
		require.Equal(t, context.Canceled, r.err, "round %d", i)
		require.Nil(t, r.s, "round %d", i)
		require.Equal(t, int64(0), s.Held(), "round %d", i)
	}
	assert.Equal(t, 1, g.Sweep(), "the key is idle: nothing leaked")
}
