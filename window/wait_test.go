package window

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Inside a synctest bubble the clock is fake and only moves when every
// goroutine in the bubble is blocked, so Wait runs on its real clock and
// timers and the test still never sleeps.

func TestWaitSucceedsWhenCreditsComeBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		begin := time.Now()
		r, _ := NewRolling(10, 10*time.Second, WithSlots(10))
		mustTake(t, r, begin, 10)
		require.NoError(t, Wait(t.Context(), r, 4))
		// Slot 0 covers [begin, begin+1s) and comes back at begin+1s+10s.
		assert.Equal(t, 11*time.Second, time.Since(begin))
		assert.Equal(t, int64(6), r.RemainingAt(time.Now()))
	})
}

func TestWaitFailsAtOnceAfterDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		begin := time.Now()
		r, _ := NewRolling(10, 10*time.Second, WithSlots(10))
		mustTake(t, r, begin, 10)
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		err := Wait(ctx, r, 1)
		var we *WaitError
		require.ErrorAs(t, err, &we)
		assert.Zero(t, time.Since(begin), "must fail at once, not wait for the deadline")
		assert.Equal(t, begin.Add(11*time.Second), we.Available)
		assert.Equal(t, begin.Add(5*time.Second), we.Deadline)
		assert.Equal(t, int64(1), we.N)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "window: 1 credits are available at")
	})
}

func TestWaitDeadlineLongEnough(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		begin := time.Now()
		f, _ := NewFixed(3, time.Hour, 0, time.UTC) // the bubble starts at 00:00 UTC
		mustTake(t, f, begin, 3)
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Hour)
		defer cancel()
		require.NoError(t, Wait(ctx, f, 3))
		assert.Equal(t, time.Hour, time.Since(begin))
	})
}

func TestWaitCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := NewRolling(1, time.Hour)
		mustTake(t, r, time.Now(), 1)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- Wait(ctx, r, 1) }()
		time.Sleep(time.Minute)
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("returned early: %v", err)
		default:
		}
		cancel()
		err := <-done
		assert.Same(t, context.Canceled, err, "ctx.Err() unchanged")
		assert.Zero(t, r.RemainingAt(time.Now()), "a cancelled wait takes nothing")
	})
}

func TestWaitBadCount(t *testing.T) {
	r, _ := NewRolling(5, time.Hour)
	assert.ErrorIs(t, Wait(context.Background(), r, 6), ErrExceedsLimit)
	assert.ErrorIs(t, Wait(context.Background(), r, 0), ErrInvalidCount)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, Wait(ctx, r, 1), context.Canceled)
	assert.Equal(t, int64(5), r.RemainingAt(time.Now()))
}

// TestWaitFakeTimer drives wait through its injected clock and timer: the
// timer factory sees the exact delay and firing it moves the clock.
func TestWaitFakeTimer(t *testing.T) {
	now := t0
	r := newTestRolling(t)
	mustTake(t, r, now, 10)
	var delays []time.Duration
	timer := TimerFunc(func(d time.Duration) (<-chan time.Time, func() bool) {
		delays = append(delays, d)
		now = now.Add(d)
		ch := make(chan time.Time, 1)
		ch <- now
		return ch, func() bool { return false }
	})
	err := WaitWith(context.Background(), r, 10, func() time.Time { return now }, timer)
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{11 * time.Second}, delays)
	assert.Equal(t, t0.Add(11*time.Second), now)

	// A racing caller takes the credits first: wait sleeps again.
	r2 := newTestRolling(t)
	mustTake(t, r2, now, 1)
	delays = nil
	begin := now
	timer = func(d time.Duration) (<-chan time.Time, func() bool) {
		delays = append(delays, d)
		now = now.Add(d)
		if len(delays) == 1 {
			mustTake(t, r2, now, 10)
		}
		ch := make(chan time.Time, 1)
		ch <- now
		return ch, func() bool { return false }
	}
	err = WaitWith(context.Background(), r2, 10, func() time.Time { return now }, timer)
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{11 * time.Second, 11 * time.Second}, delays)
	assert.Equal(t, begin.Add(22*time.Second), now)
	assert.False(t, errors.Is(err, context.DeadlineExceeded))
}
