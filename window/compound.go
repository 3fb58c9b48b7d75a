package window

import "time"

// Compound is several windows that must all admit, such as 100 credits per
// 10 s and 250,000 per 24 h. Acquisition is all or nothing: the parts are tried
// in order, and when one refuses, the parts already taken are refunded
// (Rolling and Fixed parts by the slot or period they charged, also for a
// stale caller). Between the take and the refund another caller may briefly
// see the earlier parts as spent: a transient, conservative refusal, never an
// over-admission. One case refunds less: a Rolling part whose slot another
// caller is rolling over at that instant holds the credits in neither slot
// word (see Rolling.RefundAt), and they stay spent, as if the refused call
// had spent them, until their slot leaves the window.
//
// A Compound must be made by NewCompound; it is safe for concurrent use if its
// parts are.
type Compound struct {
	ws  []Window
	tws []tokenWindow // tws[i] is ws[i] if it refunds by token (i < maxTokens), else nil
}

// NewCompound returns a window that admits only when every one of ws admits.
func NewCompound(ws ...Window) (*Compound, error) {
	if len(ws) == 0 {
		return nil, ErrNoWindows
	}
	for _, w := range ws {
		if isNil(w) {
			return nil, ErrNoWindows
		}
	}
	c := &Compound{ws: append([]Window(nil), ws...), tws: make([]tokenWindow, len(ws))}
	for i, w := range ws {
		if tw, ok := w.(tokenWindow); ok && i < maxTokens {
			c.tws[i] = tw
		}
	}
	return c, nil
}

// Windows returns the parts, in the order they are tried.
func (c *Compound) Windows() []Window { return append([]Window(nil), c.ws...) }

// Limit reports the smallest part's limit: no request above it can be admitted.
func (c *Compound) Limit() int64 {
	l := c.ws[0].Limit()
	for _, w := range c.ws[1:] {
		l = min(l, w.Limit())
	}
	return l
}

// SetLimit returns ErrCompoundLimit: set the limits on the parts instead.
func (c *Compound) SetLimit(int64) error { return ErrCompoundLimit }

// maxTokens is how many parts are refunded by token without allocating; parts
// beyond it are refunded with RefundAt.
const maxTokens = 8

// TryAcquireAt takes n credits from every part, or from none.
func (c *Compound) TryAcquireAt(now time.Time, n int64) (bool, error) {
	if n <= 0 {
		return false, ErrInvalidCount
	}
	for _, w := range c.ws {
		if n > w.Limit() {
			return false, ErrExceedsLimit
		}
	}
	return c.TakeAt(now, n, 0, false).Took != 0, nil
}

// TakeAt takes n credits from every part, or from none; with partial, the
// first part takes as many as it can, each later part up to what the one
// before it took. keep applies to the first part (the pool). Took and Spent
// are the first part's, so that Spent-Took is its use before the step (a
// later part may have taken less), and Remaining the least any part has
// left, each from that part's own step.
func (c *Compound) TakeAt(now time.Time, n, keep int64, partial bool) Take {
	if partial || n <= 0 {
		t, _ := c.takeUpTo(now, n, keep, partial)
		return t
	}
	var toks [maxTokens]uint64
	var t Take
	for i, w := range c.ws {
		var x Take
		if tw := c.tws[i]; tw != nil {
			x, toks[i] = tw.stepTok(now, n, keep, false)
		} else {
			x = w.TakeAt(now, n, keep, false)
		}
		keep = 0
		if i == 0 {
			t = x
		}
		t.Remaining = min(t.Remaining, x.Remaining)
		if x.Took != 0 {
			continue
		}
		for j := i - 1; j >= 0; j-- {
			if tw := c.tws[j]; tw != nil {
				tw.refundTok(toks[j], n)
			} else {
				c.ws[j].RefundAt(now, now, n)
			}
		}
		t = Take{Spent: t.Spent, Remaining: x.Remaining}
		// The parts before i gave back what they took: their steps'
		// remainders are of takes undone, so read them again (on this
		// refusal path only), as the pool's Spent, which a refund racing
		// a roll may leave higher than before (see Compound).
		for j := range i {
			p := c.ws[j].TakeAt(now, 0, 0, false)
			if j == 0 {
				t.Spent = p.Spent
			}
			t.Remaining = min(t.Remaining, p.Remaining)
		}
		return t
	}
	return t
}

// RefundAt refunds every part and returns what the first part gave back.
func (c *Compound) RefundAt(now, spent time.Time, n int64) int64 {
	back := c.ws[0].RefundAt(now, spent, n)
	for _, w := range c.ws[1:] {
		w.RefundAt(now, spent, n)
	}
	return back
}

// takeUpTo is TakeAt's partial (or n <= 0) step: the first part takes what
// it can, each later part up to what the one before it took. It returns the
// step, of the first part's Took and Spent, and the least any part took.
func (c *Compound) takeUpTo(now time.Time, n, keep int64, partial bool) (Take, int64) {
	t := c.ws[0].TakeAt(now, n, keep, partial)
	least := t.Took
	for _, w := range c.ws[1:] {
		x := w.TakeAt(now, least, 0, partial)
		least, t.Remaining = min(least, x.Took), min(t.Remaining, x.Remaining)
	}
	return t, least
}

// ChargeAt charges every part up to n and returns the least any part took.
func (c *Compound) ChargeAt(now time.Time, n int64) int64 {
	_, least := c.takeUpTo(now, n, 0, true)
	return least
}

// RemainingAt reports the least any part has left.
func (c *Compound) RemainingAt(now time.Time) int64 {
	r := c.ws[0].RemainingAt(now)
	for _, w := range c.ws[1:] {
		r = min(r, w.RemainingAt(now))
	}
	return r
}

// ResetAt reports when the binding part (the one with the least remaining; the
// latest reset among ties) gets credits back.
func (c *Compound) ResetAt(now time.Time) time.Time {
	least := int64(-1)
	var at time.Time
	for _, w := range c.ws {
		r, t := w.RemainingAt(now), w.ResetAt(now)
		if least < 0 || r < least || (r == least && t.After(at)) {
			least, at = r, t
		}
	}
	return at
}

// AvailableAt reports the latest of the parts' AvailableAt: each part's
// availability only grows while nothing is spent, so that is when all admit.
func (c *Compound) AvailableAt(now time.Time, n int64) (time.Time, error) {
	if n <= 0 {
		return time.Time{}, ErrInvalidCount
	}
	at := now
	for _, w := range c.ws {
		t, err := w.AvailableAt(now, n)
		if err != nil {
			return time.Time{}, err
		}
		if t.After(at) {
			at = t
		}
	}
	return at, nil
}

// isNil reports a nil Window, including a typed nil of this package's kinds.
func isNil(w Window) bool {
	switch v := w.(type) {
	case nil:
		return true
	case *Rolling:
		return v == nil
	case *Fixed:
		return v == nil
	case *Compound:
		return v == nil
	}
	return false
}
