package client

import (
	"context"
	"time"
)

// Clock is the Transport's time: Now, and the timers its waits wake on.
// Tests pass a fake one ([WithClock]); start it at a non-zero time.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc. Stop cancels it and reports whether it did.
type Timer interface{ Stop() bool }

// wallClock is time.AfterFunc with now as the time (the limiter's coarse
// clock by default: one atomic load instead of time.Now).
type wallClock struct{ now func() time.Time }

func (c wallClock) Now() time.Time { return c.now() }

func (wallClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// sleep waits d on c, or until ctx is done (then it returns ctx.Err()).
func sleep(ctx context.Context, c Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	ch := make(chan struct{})
	tm := c.AfterFunc(d, func() { close(ch) })
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		tm.Stop()
		return ctx.Err()
	}
}
