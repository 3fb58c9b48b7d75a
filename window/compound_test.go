package window

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewCompoundRejects(t *testing.T) {
	c, err := NewCompound()
	assert.ErrorIs(t, err, ErrNoWindows)
	assert.Nil(t, c)
	r, _ := NewRolling(1, time.Hour)
	c, err = NewCompound(r, nil)
	assert.ErrorIs(t, err, ErrNoWindows)
	assert.Nil(t, c)
	var typedNil *Rolling
	_, err = NewCompound(typedNil)
	assert.ErrorIs(t, err, ErrNoWindows)
}

// TestCompoundRefusalLeaksNothing: when the second window refuses, the first
// gets back exactly what it gave, including for a stale caller whose credits
// the first window counted at its frontier rather than at its own now.
func TestCompoundRefusalLeaksNothing(t *testing.T) {
	burst, _ := NewRolling(100, 10*time.Second)
	daily, _ := NewRolling(10, 24*time.Hour)
	c, err := NewCompound(burst, daily)
	require.NoError(t, err)
	mustTake(t, c, t4, 8)
	for _, at := range []time.Time{t4, t0, t0.Add(-time.Hour)} { // now, stale, very stale
		ok, err := c.TryAcquireAt(at, 5)
		require.NoError(t, err)
		assert.False(t, ok)
		assert.Equal(t, int64(92), burst.RemainingAt(t4), "refused at %v", at)
		assert.Equal(t, int64(2), daily.RemainingAt(t4))
	}
	_, err = c.TryAcquireAt(t4, 11)
	assert.ErrorIs(t, err, ErrExceedsLimit)
	assert.Equal(t, int64(92), burst.RemainingAt(t4))
	assert.Equal(t, int64(10), c.Limit())
	assert.Equal(t, int64(2), c.RemainingAt(t4))
	assert.Equal(t, 24*time.Hour+15*time.Minute, c.ResetAt(t4).Sub(t4.Truncate(15*time.Minute)),
		"the binding window's reset")
	at, err := c.AvailableAt(t4, 3)
	require.NoError(t, err)
	assert.Equal(t, c.ResetAt(t4), at)
	assert.Len(t, c.Windows(), 2)
}

// TestCompoundNested: a part that is itself a Compound is refunded through
// RefundAt.
func TestCompoundNested(t *testing.T) {
	a, _ := NewRolling(100, time.Minute)
	b, _ := NewFixed(100, day, 0, time.UTC)
	inner, _ := NewCompound(a, b)
	last, _ := NewRolling(3, time.Hour)
	c, err := NewCompound(inner, last)
	require.NoError(t, err)
	mustTake(t, c, t0, 3)
	ok, _ := c.TryAcquireAt(t1, 2)
	assert.False(t, ok)
	assert.Equal(t, int64(97), a.RemainingAt(t1))
	assert.Equal(t, int64(97), b.RemainingAt(t1))
	assert.Zero(t, c.ChargeAt(t1, 2), "charge: the least any part took (last is spent)")
	assert.Equal(t, int64(95), a.RemainingAt(t1))
	c.RefundAt(t1, t1, 2)
	assert.Equal(t, int64(97), a.RemainingAt(t1))
}

// TestCompoundConcurrentLeak: goroutines race for random costs through a
// compound whose parts refuse at different points; afterwards every part has
// spent exactly what the compound admitted.
func TestCompoundConcurrentLeak(t *testing.T) {
	a, _ := NewRolling(1<<20, time.Hour)
	b, _ := NewFixed(5000, day, 0, time.UTC)
	d, _ := NewRolling(3000, 24*time.Hour, WithSlots(24))
	c, err := NewCompound(a, b, d)
	require.NoError(t, err)
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(7, uint64(g)))
			for range 2000 {
				n := 1 + rng.Int64N(40)
				at := start.Add(time.Duration(rng.Int64N(int64(time.Minute))))
				if ok, err := c.TryAcquireAt(at, n); err == nil && ok {
					admitted.Add(n)
				}
			}
		})
	}
	wg.Wait()
	end := start.Add(time.Minute)
	got := admitted.Load()
	assert.Positive(t, got)
	assert.LessOrEqual(t, got, int64(3000))
	assert.Equal(t, int64(1<<20)-got, a.RemainingAt(end))
	assert.Equal(t, 5000-got, b.RemainingAt(end))
	assert.Equal(t, 3000-got, d.RemainingAt(end))
}
