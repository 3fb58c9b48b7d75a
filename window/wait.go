package window

import (
	"context"
	"fmt"
	"time"
)

// WaitError is returned by Wait, at once, when the credits cannot come back
// before the context's deadline. It matches context.DeadlineExceeded with
// errors.Is, since that is how the wait would have ended.
type WaitError struct {
	// Available is when the credits come back if nothing else is spent.
	Available time.Time
	// Deadline is the context's deadline.
	Deadline time.Time
	// N is the credit count asked for.
	N int64
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("window: %d credits are available at %s, after the context deadline %s",
		e.N, e.Available.Format(time.RFC3339Nano), e.Deadline.Format(time.RFC3339Nano))
}

// Unwrap returns context.DeadlineExceeded.
func (e *WaitError) Unwrap() error { return context.DeadlineExceeded }

// Wait takes n credits from w, sleeping until they come back. It returns nil
// once they are taken; ErrExceedsLimit (or ErrInvalidCount) at once for a count
// that can never be admitted; a *WaitError at once when the credits come back
// after ctx's deadline; and ctx.Err() unchanged when ctx ends first. Waiters
// are not queued: when several wait for the same credits, whoever retries first
// after they come back wins, and the others sleep again.
func Wait(ctx context.Context, w Window, n int64) error {
	return wait(ctx, w, n, time.Now, realTimer)
}

// timerFunc starts a timer for d and returns its channel and its stop function.
type timerFunc func(d time.Duration) (<-chan time.Time, func() bool)

func realTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// retryFloor is the shortest sleep between attempts, for when the window says
// the credits are available yet the attempt lost them to another caller.
const retryFloor = time.Millisecond

func wait(ctx context.Context, w Window, n int64, now func() time.Time, newTimer timerFunc) error {
	if n <= 0 {
		return ErrInvalidCount
	}
	if n > w.Limit() {
		return ErrExceedsLimit
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		t := now()
		ok, err := w.TryAcquireAt(t, n)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		at, err := w.AvailableAt(t, n)
		if err != nil {
			return err
		}
		if dl, has := ctx.Deadline(); has && at.After(dl) {
			return &WaitError{Available: at, Deadline: dl, N: n}
		}
		d := max(at.Sub(t), retryFloor)
		ch, stop := newTimer(d)
		select {
		case <-ctx.Done():
			stop()
			return ctx.Err()
		case <-ch:
		}
	}
}
