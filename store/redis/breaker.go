package redis

import (
	"sync"
	"sync/atomic"
	"time"
)

// Circuit is the state of a store's circuit breaker.
type Circuit uint8

// Circuit states.
const (
	Closed   Circuit = iota // calls go to Redis
	Open                    // calls fail at once until the cooldown ends
	HalfOpen                // one probe call at a time goes to Redis
)

func (c Circuit) String() string {
	switch c {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return "unknown"
}

// breaker stops calling a Redis that fails: after failures consecutive
// failed calls it opens for cooldown, then lets one probe through at a
// time (half-open); a probe that succeeds closes it, one that fails opens
// it again.
type breaker struct {
	failures int
	cooldown time.Duration
	opens    *atomic.Int64 // counts openings

	mu      sync.Mutex // protects the fields below
	state   Circuit
	fails   int
	until   time.Time // open: when the next probe may go
	probing bool
	closes  int64 // closings after an opening (recoveries)
}

// allow reports whether a call may go now, and whether it is the probe.
func (b *breaker) allow(now time.Time) (probe, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Closed:
		return false, true
	case Open:
		if now.Before(b.until) {
			return false, false
		}
		b.state = HalfOpen
	}
	if b.probing {
		return false, false
	}
	b.probing = true
	return true, true
}

// isOpen reports whether calls would fail at once (no probe due).
func (b *breaker) isOpen(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state == Open && now.Before(b.until) || b.state == HalfOpen && b.probing
}

// done records a call's outcome.
func (b *breaker) done(ok, probe bool, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
	}
	if ok {
		if b.state != Closed {
			b.closes++
		}
		b.state, b.fails = Closed, 0
		return
	}
	b.fails++
	if b.state == HalfOpen || b.state == Closed && b.fails >= b.failures {
		if b.state == Closed {
			b.opens.Add(1)
		}
		b.state, b.until = Open, now.Add(b.cooldown)
	}
}

// circuit is the state and how many recoveries happened so far.
func (b *breaker) circuit() (Circuit, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state, b.closes
}
