package client

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// gate is where calls wait: one queue ordered by priority (higher first),
// FIFO within a priority. Each pass over the queue (dispatch) tries the
// waiters in order; one that is refused blocks, for the rest of the pass,
// the waiters after it that need what it lacks (the application slot, its
// class's slot, its integration's rules, or the pool's credits for those
// that may not take more of the pool than it may), so that nobody overtakes
// a waiter for the same thing and a large call is not starved by small ones.
// A pass runs when a call releases slots or refunds credits, and at the
// earliest time a refusal said to try again (one timer): waits never spin.
type gate struct {
	t      *Transport
	n      atomic.Int64 // waiters queued
	shared atomic.Int64 // waiters whose last refusal was for something shared

	mu      sync.Mutex // protects the fields below and every waiter's fields
	head    *waiter
	tail    *waiter
	timer   Timer
	timerAt time.Time
	stopped bool
}

// waiter is one queued call.
type waiter struct {
	c        call      // a copy: the caller's call stays on its stack
	deadline time.Time // the context's, zero for none
	ready    chan struct{}
	done     bool
	adm      admission
	err      error
	ref      refusal // the last refusal
	blocked  bool    // blocked by another waiter in the last pass
	prev     *waiter
	next     *waiter
}

// wait queues c until it is admitted, fails (see Transport.ends), or its
// context ends (ctx.Err(), unchanged).
func (g *gate) wait(ctx context.Context, c *call) (admission, error) {
	w := &waiter{c: *c, ready: make(chan struct{}, 1)}
	w.deadline, _ = ctx.Deadline()
	g.mu.Lock()
	if g.stopped {
		g.mu.Unlock()
		return admission{}, errStopped
	}
	g.push(w)
	g.dispatchLocked()
	if !w.done && c.failFast {
		g.remove(w)
		g.mu.Unlock()
		return admission{}, g.t.ends(&w.c, w.deadline, w.ref)
	}
	done := w.done // read under the lock: another pass may finish w once it is let go
	g.mu.Unlock()
	if done {
		return w.adm, w.err
	}
	start := g.t.clock.Now()
	c.it.c.waits.Add(1)
	defer func() { c.it.c.waitedNs.Add(int64(g.t.clock.Now().Sub(start))) }()
	select {
	case <-w.ready:
		return w.adm, w.err
	case <-ctx.Done():
	}
	g.mu.Lock()
	if !w.done {
		g.remove(w)
		g.dispatchLocked() // the waiters it blocked may go now
		g.mu.Unlock()
		return admission{}, ctx.Err()
	}
	g.mu.Unlock()
	<-w.ready
	if w.err == nil {
		// Admitted as the context ended: give it all back.
		w.adm.done(g.t, g.t.clock.Now(), true)
	}
	return admission{}, ctx.Err()
}

// push queues w after every waiter of its priority or higher.
func (g *gate) push(w *waiter) {
	p := w.c.it.Priority
	at := g.tail
	for at != nil && at.c.it.Priority < p {
		at = at.prev
	}
	if at == nil {
		w.next, g.head = g.head, w
	} else {
		w.prev, w.next, at.next = at, at.next, w
	}
	if w.next == nil {
		g.tail = w
	} else {
		w.next.prev = w
	}
	g.n.Add(1)
	w.c.it.waiting.Add(1)
}

// note tells the flight that w's call leads, if any, what w waits for: an
// identical read with a deadline fails at once on it (saver.follow), as it
// would in the queue itself.
func (g *gate) note(w *waiter) {
	if fl := w.c.fl; fl != nil {
		fl.ref, fl.queued = w.ref, true
		fl.wakeLocked()
	}
}

// sleeping tells the flight that c leads, if any, that c waits out a
// credits refusal's Retry-After (c.back), as note does for a wait in the
// queue; !on: that the wait is over.
func (g *gate) sleeping(c *call, on bool) {
	fl := c.fl
	if fl == nil || c.back.IsZero() {
		return
	}
	g.mu.Lock()
	fl.ref, fl.queued = refusal{reason: ReasonCredits, at: c.back}, on
	if on {
		fl.wakeLocked()
	}
	g.mu.Unlock()
}

// wakeLocked wakes fl's followers waiting with a deadline, to check what
// its call now waits for; under the gate's mu.
func (fl *flight) wakeLocked() {
	if fl.wake != nil {
		close(fl.wake)
		fl.wake = nil
	}
}

func (g *gate) remove(w *waiter) {
	if fl := w.c.fl; fl != nil {
		fl.queued = false
	}
	if w.prev == nil {
		g.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		g.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.prev, w.next = nil, nil
	g.n.Add(-1)
	w.c.it.waiting.Add(-1)
}

// finish removes w and hands it its admission or error.
func (g *gate) finish(w *waiter, a admission, err error) {
	g.remove(w)
	w.done, w.adm, w.err = true, a, err
	w.ready <- struct{}{}
}

// dispatchLocked tries the waiters in order (see gate) and arms the timer
// for the earliest retry time.
func (g *gate) dispatchLocked() {
	// Until this pass has counted them, every waiter may be waiting for
	// something shared: a release meanwhile, which may free what a waiter
	// was just refused, then passes again once this pass lets go of the
	// lock. On the last pass's count it could skip, and the waiter slept
	// until its retry time (for ever on a clock that does not move).
	g.shared.Store(g.n.Load())
	t := g.t
	now := t.clock.Now()
	var b blocked
	b.init()
	var next time.Time
	var shared int64
	for w := g.head; w != nil; {
		nx := w.next
		if r, ok := b.blocks(w); ok {
			w.ref, w.blocked = r, true
			g.note(w)
			if !g.ended(w) && r.shared() {
				shared++
			}
			w = nx
			continue
		}
		var r refusal
		var a admission
		ok := t.try(now, &w.c, &r, &a)
		switch {
		case ok:
			g.finish(w, a, nil)
		default:
			w.ref, w.blocked = r, false
			g.note(w)
			if g.ended(w) {
				break
			}
			if !r.never { // a call that can never be admitted blocks nobody
				b.add(w, r)
			}
			if r.shared() {
				shared++
			}
			next = when(next, r.at)
		}
		w = nx
	}
	if testHooks && passHook != nil {
		passHook()
	}
	g.shared.Store(shared)
	g.arm(now, next)
}

// passHook, in tests, runs in each pass between its tries and its count of
// the waiters waiting for something shared.
var passHook func()

// ended finishes w with an error if its last refusal ends it (see
// Transport.ends), and reports whether w leaves after this pass. A
// fail-fast waiter always does: it is left to its own goroutine, which
// removes it after the pass it was queued in, and it blocks nobody (nor
// counts as shared, nor arms the timer) meanwhile, or a waiter behind it
// could fail on the deadline of what it lacked.
func (g *gate) ended(w *waiter) bool {
	if w.c.failFast {
		return true
	}
	if err := g.t.ends(&w.c, w.deadline, w.ref); err != nil {
		g.finish(w, admission{}, err)
		return true
	}
	return false
}

// arm makes the timer fire at next (zero: not at all), unless it already
// fires earlier.
func (g *gate) arm(now, next time.Time) {
	if next.IsZero() || g.stopped {
		return
	}
	if g.timer != nil && !g.timerAt.After(next) {
		return
	}
	if g.timer != nil {
		g.timer.Stop()
	}
	g.timerAt = next
	g.timer = g.t.clock.AfterFunc(max(next.Sub(now), minWait), g.fire)
}

func (g *gate) fire() {
	g.mu.Lock()
	g.timer = nil
	if g.n.Load() > 0 {
		g.dispatchLocked()
	}
	g.mu.Unlock()
}

// released runs after a call gave back slots (and credits, if refunded):
// a pass runs if a waiter may want them. Small enough to inline, since
// every call's release runs it and most find nobody waiting.
func (g *gate) released(refunded bool) {
	if g.n.Load() != 0 {
		g.pass(refunded)
	}
}

// pass is released's pass, when calls wait.
func (g *gate) pass(refunded bool) {
	if !refunded && g.shared.Load() == 0 {
		return
	}
	g.mu.Lock()
	if g.n.Load() > 0 {
		g.dispatchLocked()
	}
	g.mu.Unlock()
}

// stop fails every waiter and stops the timer.
func (g *gate) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
	for g.head != nil {
		g.finish(g.head, admission{}, errStopped)
	}
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
}
