package client

import (
	"context"
	"time"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/usage"
	"github.com/creditgate/creditgate/window"
)

// concurrencyPoll is how soon a call refused a slot tries again when no
// release wakes it first: a slot held by another process of the fleet
// comes free with no signal here.
const concurrencyPoll = 250 * time.Millisecond

// minWait keeps a refusal's retry time in the future, so that a wait never
// spins.
const minWait = time.Millisecond

// admission is what an admitted call holds: its pool ticket (credits and
// slots) and its quota ticket.
type admission struct {
	pool, quota limiter.Ticket
	it          *integration
	cost        int64
	left        int64 // the pool's remaining credits just after the admission
	// at is the admission's time, and folded whether the usage statistics
	// counted the call as tenant Other's, kept with them: the call's
	// refund and settle count in its hour and under Other if it did (see
	// usage.Stats.RecordIn), so that they land where the call did.
	at     time.Time
	folded bool
}

// refusal says why a call was not admitted and when to try again.
type refusal struct {
	reason Reason
	at     time.Time
	never  bool // it costs more than the pool can hold for it
}

// predictable reports whether the refusal's time is when what was short
// comes back (credits, hours), not a guess (slots).
func (r refusal) predictable() bool {
	switch r.reason {
	case ReasonCredits, ReasonQuota, ReasonQuietHours, ReasonPoolLevel:
		return true
	}
	return false
}

// shared reports whether the refusal is for something every integration
// takes (slots, the pool's credits), as opposed to the integration's own
// rules.
func (r refusal) shared() bool {
	switch r.reason {
	case ReasonCredits, ReasonConcurrency, ReasonSubConcurrency, ReasonUnavailable:
		return true
	}
	return false
}

// try admits call c at now, all or nothing: its quiet
// hours and pool level, its quota, then the pool (slots and credits, leaving
// the others' reserves), and fills a. On refusal it fills r, leaves a alone
// and holds nothing. Both go through pointers into the caller's frame: an
// admission returned by value was written narrow and then copied wide, once
// here and once in admit, and a wide load of narrow stores waits for them
// (store forwarding fails), which showed in profiles (about 15 ns a call).
func (t *Transport) try(now time.Time, c *call, r *refusal, a *admission) bool {
	it, p := c.it, &c.price
	if q := it.Quiet; q != nil {
		if end := q.end(now); !end.IsZero() {
			*r = refusal{reason: ReasonQuietHours, at: end}
			return false
		}
	}
	if lv := it.level.Load(); lv > 0 {
		if d := t.l.PeekN(now, t.tenant, lv); d.RetryAfter > 0 {
			*r = refusal{reason: ReasonPoolLevel, at: now.Add(d.RetryAfter)}
			return false
		}
	}
	var quota limiter.Ticket
	if it.quotaKey != "" && t.pool.Load() > 0 {
		var d limiter.Decision
		tk := t.l.AcquireTo(now, &limiter.Request{Tenant: it.quotaKey, App: it.Name, Credits: p.Credits}, &d)
		if !d.Allowed {
			*r = refusal{reason: ReasonQuota, at: now.Add(max(d.RetryAfter, minWait))}
			r.never = d.Reason == limiter.ReasonCredits && p.Credits > d.Limit
			return false
		}
		quota = tk
	}
	keep := it.keep.Load()
	units := p.Units
	if t.probing.Load() {
		if units > 1 && units > min(t.learnConc, store.MaxUnits) {
			// More units than the plan learned will hold, as poolRefusal
			// finds under it: never sent.
			quota.Settle(now, 0)
			quota.Release()
			*r = refusal{reason: ReasonConcurrency, at: now.Add(concurrencyPoll), never: true}
			return false
		}
		// The placeholder's one call at a time: any call takes its whole
		// cap, the most units of any route, and a composite call keeps
		// its units counted once the plan is learned.
		units = t.probeUnits
	}
	var d limiter.Decision
	tk := t.l.AcquireTo(now, &limiter.Request{Tenant: t.tenant, App: t.app, Class: p.Class,
		Credits: p.Credits, Keep: keep, Units: units, Module: p.Module, Method: c.req.Method}, &d)
	if !d.Allowed {
		quota.Settle(now, 0)
		quota.Release()
		t.poolRefusal(now, p.Credits+keep, units, &d, r)
		return false
	}
	it.c.credits.Add(p.Credits)
	if t.usage != nil {
		a.folded = t.record(now, it.Name, p.Module, c.req.Method, p.Credits, false)
		a.at = now
	}
	a.pool, a.quota, a.it, a.cost, a.left = tk, quota, it, p.Credits, d.Remaining
	return true
}

// unmetered charges to its integration's quota the credits of a call
// admitted with none taken from it: one admitted while the pool was still
// to be learned, when no quota had a size (try). The pool may have been
// learned since, from this call's own answer as a rule (the probing call):
// then the quota has a size and the call counts in it, as it counts in the
// pool. While the size is still unknown the credits are added to the
// integration's unmetered sum, which learnFrom charges once the size is
// known; the pool is read again after the add, so that a size learned
// meanwhile (whose learnFrom may have drained the sum before it) still
// gets the credits: each sum is taken by one Swap, charged once. Called
// once the call's credits are final (not refunded); Charge takes what the
// quota has left, if less.
func (t *Transport) unmetered(now time.Time, a *admission) {
	if t.pool.Load() != 0 {
		t.l.Charge(now, a.it.quotaKey, a.cost)
		return
	}
	addSat(&a.it.unmetered, a.cost, window.MaxLimit)
	if t.pool.Load() != 0 {
		t.chargeUnmetered(now, a.it)
	}
}

// chargeUnmetered charges to the quota of it the credits of its calls answered
// before the pool's size was known.
func (t *Transport) chargeUnmetered(now time.Time, it *integration) {
	if n := it.unmetered.Swap(0); n > 0 {
		t.l.Charge(now, it.quotaKey, n)
	}
}

// poolRefusal fills r for the pool's refusal d of a call that needed need
// credits (its own and the reserves it leaves) and units of the
// application's concurrency cap.
func (t *Transport) poolRefusal(now time.Time, need, units int64, d *limiter.Decision, r *refusal) {
	*r = refusal{reason: reasonOf(d.Reason), at: now.Add(max(d.RetryAfter, minWait))}
	switch r.reason {
	case ReasonCredits:
		r.never = need > d.Limit
	case ReasonConcurrency, ReasonSubConcurrency:
		r.at = now.Add(concurrencyPoll)
		// More units than the cap (a Zoho table under a plan stricter than
		// Zoho's) or than any store takes (store.MaxUnits): it would wait
		// forever.
		r.never = r.reason == ReasonConcurrency && units > 1 &&
			units > min(t.l.Plan(t.tenant).Concurrency, store.MaxUnits)
	}
}

// refund gives the admission's credits back (the server refused or failed
// the call, which then costs nothing).
func (a *admission) refund(t *Transport, now time.Time) {
	if a.cost == 0 {
		return
	}
	a.pool.Settle(now, 0)
	a.quota.Settle(now, 0)
	a.it.c.credits.Add(-a.cost)
	if t.usage != nil {
		t.usage.Settle(a.at, a.usageTenant(t), a.it.Name, -a.cost) // the call's hour
	}
	a.cost = 0
}

// settle lowers the admission's credits to actual (a batch sent with fewer
// records than it was priced for).
func (a *admission) settle(t *Transport, now time.Time, actual int64) {
	a.pool.Settle(now, actual)
	a.quota.Settle(now, actual)
	a.it.c.credits.Add(actual - a.cost)
	if t.usage != nil {
		t.usage.Settle(a.at, a.usageTenant(t), a.it.Name, actual-a.cost) // the call's hour
	}
	a.cost = actual
}

// release gives the admission's slots back and wakes the waiters it may
// let in.
func (a *admission) release(t *Transport, refunded bool) {
	a.pool.Release()
	a.quota.Release()
	t.gate.released(refunded)
}

// done refunds (if refund) and releases.
func (a *admission) done(t *Transport, now time.Time, refund bool) {
	if refund {
		a.refund(t, now)
	}
	a.release(t, refund)
}

// admit waits in the gate until c may be sent, filling a, or says why it
// may not. tried is the refusal of an admission tried at once, nil if none
// was (someone waits for something c needs: the gate's queue is first).
func (t *Transport) admit(ctx context.Context, c *call, tried *refusal, a *admission) error {
	if tried != nil {
		dl, _ := ctx.Deadline()
		if err := t.ends(c, dl, *tried); err != nil {
			return err
		}
	}
	w, err := t.gate.wait(ctx, c)
	*a = w
	return err
}

// ends returns the error that ends call c at once for refusal r, or nil if
// c may wait: it can never be admitted, it fails fast, or what it waits for
// is not back before its deadline (zero: none).
func (t *Transport) ends(c *call, deadline time.Time, r refusal) error {
	e := &LimitError{Integration: c.it.Name, Reason: r.reason}
	if r.predictable() {
		e.RetryAt = r.at
	}
	switch {
	case r.never:
		e.Never, e.RetryAt = true, time.Time{}
	case c.failFast:
	case r.predictable() && !deadline.IsZero() && r.at.After(deadline):
		e.Deadline = true
	default:
		return nil
	}
	t.refused(c, e)
	return e
}

// refused counts a refusal of the client.
func (t *Transport) refused(c *call, e *LimitError) {
	c.it.c.refused[e.Reason].Add(1)
	t.record(t.clock.Now(), c.it.Name, c.price.Module, c.req.Method, 0, true)
}

// usageTenant is the tenant under which the usage statistics count a's
// corrections: the call's.
func (a *admission) usageTenant(t *Transport) string {
	if a.folded {
		return usage.Other
	}
	return t.tenant
}
