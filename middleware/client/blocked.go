package client

import (
	"math"
	"slices"
	"time"
)

// blocked is what the waiters refused so far in one pass of the gate lack:
// a later waiter that needs the same waits behind them.
type blocked struct {
	app     refusal // the application slot (every call needs one)
	classes []string
	classAt refusal
	ints    []*integration
	intRefs []refusal
	// credits: the pool refused a waiter that leaves keep credits untaken;
	// a later waiter that must leave as many (or more) cannot be served
	// before it without overtaking it.
	credits    refusal
	creditKeep int64

	classArr [4]string
	intArr   [4]*integration
	refArr   [4]refusal
}

func (b *blocked) init() {
	b.classes, b.ints, b.intRefs = b.classArr[:0], b.intArr[:0], b.refArr[:0]
	b.creditKeep = math.MaxInt64
}

// blocks reports whether waiter w waits behind an earlier one, and that
// one's refusal.
func (b *blocked) blocks(w *waiter) (refusal, bool) {
	c := &w.c
	if i := slices.Index(b.ints, c.it); i >= 0 {
		return b.intRefs[i], true // FIFO within an integration
	}
	if b.app.reason != ReasonNone {
		return b.app, true
	}
	if c.price.Class != "" && slices.Contains(b.classes, c.price.Class) {
		return b.classAt, true
	}
	if b.credits.reason != ReasonNone && c.price.Credits > 0 && c.it.keep.Load() >= b.creditKeep {
		return b.credits, true
	}
	return refusal{}, false
}

// add records the refusal r of waiter w.
func (b *blocked) add(w *waiter, r refusal) {
	switch r.reason {
	case ReasonQuota, ReasonQuietHours, ReasonPoolLevel:
		b.ints = append(b.ints, w.c.it)
		b.intRefs = append(b.intRefs, r)
	case ReasonSubConcurrency:
		b.classes = append(b.classes, w.c.price.Class)
		if b.classAt.reason == ReasonNone {
			b.classAt = r
		}
	case ReasonCredits:
		if keep := w.c.it.keep.Load(); keep < b.creditKeep {
			b.creditKeep = keep
		}
		if b.credits.reason == ReasonNone || r.at.Before(b.credits.at) {
			b.credits = r
		}
	case ReasonUnavailable:
		// A store that cannot decide this call (out of reach, or a Redis
		// store's share while it is: a composite call of more units than
		// the share) blocks nobody: each call's own try finds out, and a
		// call it can decide goes.
	default: // concurrency: nobody goes
		if b.app.reason == ReasonNone {
			b.app = r
		}
	}
}

// when is the earliest of two retry times (zero: none).
func when(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}
