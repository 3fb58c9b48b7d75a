package window

import (
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

// start is a fixed, non-zero instant mid-morning UTC, so a daily calendar
// window does not reset during a test that moves minutes.
var start = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// impls builds every implementation with a pool of limit credits that comes
// back within a day, for the shared contract suite.
var impls = []struct {
	name string
	new  func(t testing.TB, limit int64) Window
}{
	{"rolling", func(t testing.TB, limit int64) Window {
		r, err := NewRolling(limit, 24*time.Hour)
		require.NoError(t, err)
		return r
	}},
	{"rolling-10s-7slots", func(t testing.TB, limit int64) Window {
		r, err := NewRolling(limit, 10*time.Second, WithSlots(7))
		require.NoError(t, err)
		return r
	}},
	{"fixed", func(t testing.TB, limit int64) Window {
		f, err := NewFixed(limit, 24*time.Hour, 0, time.UTC)
		require.NoError(t, err)
		return f
	}},
	{"compound", func(t testing.TB, limit int64) Window {
		a, err := NewRolling(limit, time.Hour)
		require.NoError(t, err)
		b, err := NewFixed(2*limit, 24*time.Hour, 0, time.UTC)
		require.NoError(t, err)
		c, err := NewCompound(b, a)
		require.NoError(t, err)
		return c
	}},
}

func forEach(t *testing.T, fn func(t *testing.T, mk func(limit int64) Window)) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			fn(t, func(limit int64) Window { return im.new(t, limit) })
		})
	}
}

func TestContractBadInput(t *testing.T) {
	forEach(t, func(t *testing.T, mk func(int64) Window) {
		w := mk(10)
		for _, n := range []int64{0, -1, -1 << 62} {
			ok, err := w.TryAcquireAt(start, n)
			assert.False(t, ok)
			assert.ErrorIs(t, err, ErrInvalidCount)
			_, err = w.AvailableAt(start, n)
			assert.ErrorIs(t, err, ErrInvalidCount)
			assert.Zero(t, w.ChargeAt(start, n))
			w.RefundAt(start, start, n)
		}
		ok, err := w.TryAcquireAt(start, 11)
		assert.False(t, ok)
		assert.ErrorIs(t, err, ErrExceedsLimit)
		_, err = w.AvailableAt(start, 11)
		assert.ErrorIs(t, err, ErrExceedsLimit)
		assert.Error(t, w.SetLimit(0))
		assert.Error(t, w.SetLimit(-5))
		assert.Equal(t, int64(10), w.RemainingAt(start), "bad input must not spend")
	})
}

func TestContractFillRefuseAndReturn(t *testing.T) {
	forEach(t, func(t *testing.T, mk func(int64) Window) {
		w := mk(10)
		assert.Equal(t, start, w.ResetAt(start), "nothing spent: reset is now")
		at, err := w.AvailableAt(start, 10)
		require.NoError(t, err)
		assert.Equal(t, start, at)
		for i := range 10 {
			ok, err := w.TryAcquireAt(start.Add(time.Duration(i)*time.Millisecond), 1)
			require.NoError(t, err)
			require.True(t, ok, "acquire %d", i)
		}
		t1 := start.Add(10 * time.Millisecond)
		ok, err := w.TryAcquireAt(t1, 1)
		require.NoError(t, err)
		assert.False(t, ok, "the eleventh credit must be refused")
		assert.Zero(t, w.RemainingAt(t1))
		reset := w.ResetAt(t1)
		assert.True(t, reset.After(t1), "reset %v after %v", reset, t1)
		at, err = w.AvailableAt(t1, 1)
		require.NoError(t, err)
		assert.True(t, at.After(t1))
		assert.False(t, at.Before(reset), "one credit is not back before the first reset")
		before := at.Add(-time.Nanosecond)
		ok, _ = w.TryAcquireAt(before, 1)
		assert.False(t, ok, "one nanosecond before AvailableAt %v", at)
		ok, _ = w.TryAcquireAt(at, 1)
		assert.True(t, ok, "at AvailableAt %v", at)
	})
}

func TestContractAllOrNothing(t *testing.T) {
	forEach(t, func(t *testing.T, mk func(int64) Window) {
		w := mk(10)
		ok, _ := w.TryAcquireAt(start, 7)
		require.True(t, ok)
		ok, _ = w.TryAcquireAt(start, 4)
		assert.False(t, ok)
		assert.Equal(t, int64(3), w.RemainingAt(start), "a refused request takes nothing")
		ok, _ = w.TryAcquireAt(start, 3)
		assert.True(t, ok)
	})
}

func TestContractRefund(t *testing.T) {
	forEach(t, func(t *testing.T, mk func(int64) Window) {
		w := mk(10)
		ok, _ := w.TryAcquireAt(start, 6)
		require.True(t, ok)
		t1 := start.Add(time.Second)
		w.RefundAt(t1, start, 4)
		assert.Equal(t, int64(8), w.RemainingAt(t1))
		w.RefundAt(t1, start, 100)
		assert.Equal(t, int64(10), w.RemainingAt(t1), "a refund never lifts the pool above the limit")
		w.RefundAt(t1, start, 5)
		assert.Equal(t, int64(10), w.RemainingAt(t1))
	})
}

func TestContractRefundExpiredIsNotResurrected(t *testing.T) {
	forEach(t, func(t *testing.T, mk func(int64) Window) {
		w := mk(10)
		ok, _ := w.TryAcquireAt(start, 10)
		require.True(t, ok)
		later := start.Add(48 * time.Hour)
		require.Equal(t, int64(10), w.RemainingAt(later))
		ok, _ = w.TryAcquireAt(later, 10)
		require.True(t, ok)
		w.RefundAt(later, start, 10)
		assert.Zero(t, w.RemainingAt(later), "credits from a period that already returned must not come back twice")
	})
}

func TestContractCharge(t *testing.T) {
	forEach(t, func(t *testing.T, mk func(int64) Window) {
		w := mk(10)
		assert.Equal(t, int64(4), w.ChargeAt(start, 4))
		assert.Equal(t, int64(6), w.ChargeAt(start, 9), "charge takes only what remains")
		assert.Zero(t, w.ChargeAt(start, 1))
		assert.Zero(t, w.RemainingAt(start))
	})
}

func TestContractSetLimitKeepsSpent(t *testing.T) {
	forEach(t, func(t *testing.T, mk func(int64) Window) {
		w := mk(10)
		ok, _ := w.TryAcquireAt(start, 5)
		require.True(t, ok)
		if _, isCompound := w.(*Compound); isCompound {
			assert.ErrorIs(t, w.SetLimit(20), ErrCompoundLimit)
			return
		}
		require.NoError(t, w.SetLimit(20))
		assert.Equal(t, int64(20), w.Limit())
		assert.Equal(t, int64(15), w.RemainingAt(start))
		require.NoError(t, w.SetLimit(3))
		assert.Zero(t, w.RemainingAt(start), "spent above the new limit leaves nothing")
		ok, _ = w.TryAcquireAt(start, 1)
		assert.False(t, ok)
		_, err := w.TryAcquireAt(start, 4)
		assert.ErrorIs(t, err, ErrExceedsLimit)
	})
}

// TestContractBackwardsClock: a caller with an older now must neither corrupt
// the state nor get credits that a newer caller already used.
func TestContractBackwardsClock(t *testing.T) {
	forEach(t, func(t *testing.T, mk func(int64) Window) {
		w := mk(10)
		t1 := start.Add(3 * time.Hour)
		ok, _ := w.TryAcquireAt(t1, 6)
		require.True(t, ok)
		ok, _ = w.TryAcquireAt(start, 5)
		assert.False(t, ok, "a stale caller must see what newer callers spent")
		ok, _ = w.TryAcquireAt(start.Add(-30*24*time.Hour), 4)
		assert.True(t, ok)
		assert.Zero(t, w.RemainingAt(t1))
		assert.Zero(t, w.RemainingAt(start))
	})
}

// TestContractExactUnderContention: at one instant, goroutines racing for
// single credits get exactly the limit between them.
func TestContractExactUnderContention(t *testing.T) {
	forEach(t, func(t *testing.T, mk func(int64) Window) {
		const limit = 1000
		w := mk(limit)
		var got atomic.Int64
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 300 {
					now := start.Add(time.Duration(g*300+i) * time.Microsecond)
					if ok, err := w.TryAcquireAt(now, 1); err == nil && ok {
						got.Add(1)
					}
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int64(limit), got.Load())
		assert.Zero(t, w.RemainingAt(start.Add(time.Second)))
	})
}
