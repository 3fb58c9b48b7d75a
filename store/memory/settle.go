package memory

import (
	"time"

	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/window"
)

// Release implements store.Store.
func (s *Store) Release(l *Lease) {
	t := l.t
	if t == nil {
		return
	}
	if l.app == nil && l.cls == nil && l.which != 0 && !t.cached() {
		t.slots0.Release(l.which) // releaseSlots's common case, with no call
		return
	}
	releaseSlots(t, l.app, l.cls, l.which, l.units)
}

// Settle implements store.Store. A refund into windows that SetPlan is
// replacing may be lost (their spends may have been copied already): a
// refund withheld, never credits minted. A charge is made again on the new
// windows, as in Take.
func (s *Store) Settle(now time.Time, l *Lease, delta int64, exact bool) store.Decision {
	t := l.t
	if t == nil {
		return store.Decision{}
	}
	w := t.wins.Load()
	if delta <= 0 {
		back := int64(0)
		if delta < 0 {
			back = w.all().RefundAt(now, time.Unix(0, l.at), -delta)
			if back != 0 {
				w.forgetReset()
			}
		}
		l.credits -= back
		return s.report(now, t, w, -back, w.all().TakeAt(now, 0, 0, false))
	}
	tk, w := charge(t, w, now, delta, !exact)
	if tk.Took == 0 && exact {
		var d store.Decision
		refusalKeep(now, t, w, store.ReasonCredits, delta, 0, "", &d)
		d.SettleFigures(t.plan.Load(), l.credits)
		return d
	}
	l.credits += tk.Took
	return s.report(now, t, w, tk.Took, tk)
}

// charge takes n credits from w (partial: up to n) and, if SetPlan is
// replacing w, from the windows that replace it (see takeAgain).
func charge(t *tenant, w *windows, now time.Time, n int64, partial bool) (window.Take, *windows) {
	tk := w.all().TakeAt(now, n, 0, partial)
	if w.reset.Load() == replacingReset && tk.Took != 0 {
		w, tk = takeAgain(t, w, now, n, 0, partial)
	}
	return tk, w
}

// report is the Decision of a settle or charge that changed the pool by
// cost, tk being the step's figures, at t, whose windows are w.
func (s *Store) report(now time.Time, t *tenant, w *windows, cost int64, tk window.Take) store.Decision {
	pool := w.pool()
	return store.Decision{Allowed: true, Cost: cost, Limit: pool.Limit(), AddOns: t.plan.Load().AddOns,
		Remaining: tk.Remaining, Used: tk.Spent, Reset: w.all().ResetAt(now), Window: w.length()}
}

// Charge implements store.Store: up to n credits, at now, with no slots.
func (s *Store) Charge(now time.Time, tenant string, n int64, plans store.PlanFunc) store.Decision {
	sh, h := s.shardOf(tenant)
	t := sh.get(h, tenant)
	for {
		if t == nil {
			if t = s.create(now, sh, h, tenant, plans); t == nil {
				return store.Decision{Reason: store.ReasonTenants, Cost: n, RetryAfter: s.tenantsRetryAfter(now)}
			}
		}
		t.pins.Add(1) // then the dead flag: a fold either sees the pin or is seen
		if !t.dead() {
			break
		}
		t.pins.Add(-1)
		t = sh.get(h, tenant) // folded meanwhile: look up again
	}
	defer t.pins.Add(-1)
	w := t.wins.Load()
	if n <= 0 {
		return s.report(now, t, w, 0, w.all().TakeAt(now, 0, 0, false))
	}
	tk, w := charge(t, w, now, n, true)
	return s.report(now, t, w, tk.Took, tk)
}

// Peek implements store.Store. An unknown tenant is reported with its plan's
// full pool and is not created.
func (s *Store) Peek(now time.Time, tenant string, n int64, plans store.PlanFunc) store.Decision {
	sh, h := s.shardOf(tenant)
	t := sh.get(h, tenant)
	if t == nil {
		sh.mu.Lock()
		t = sh.get(h, tenant) // unfolded meanwhile?
		rec, ok := sh.folded[tenant]
		sh.mu.Unlock()
		if t == nil && ok {
			p := plans(tenant)
			if w := s.foldedWindows(now, rec, p); w != nil {
				return peek(now, w, p, n)
			}
		}
	}
	if t == nil {
		p := plans(tenant)
		d := store.Decision{Allowed: true, Limit: p.Credits, AddOns: p.AddOns, Remaining: p.Credits, Reset: now, Window: p.WindowLength()}
		for _, x := range p.Extra {
			d.Remaining = min(d.Remaining, x.Credits)
		}
		if n > d.Remaining {
			d.RetryAfter = d.Window // more than any window holds: never, in practice
		}
		return d
	}
	return peek(now, t.wins.Load(), t.plan.Load(), n)
}

// peek is Peek of windows w, made for plan p.
func peek(now time.Time, w *windows, p *store.Plan, n int64) store.Decision {
	all, pool := w.all(), w.pool()
	rem := all.RemainingAt(now)
	d := store.Decision{Allowed: true, Limit: pool.Limit(), AddOns: p.AddOns, Remaining: rem, Used: spent(now, pool),
		Reset: all.ResetAt(now), Window: w.length()}
	if n > rem {
		d.RetryAfter = retryAfter(now, all, n, w.length())
	}
	return d
}
