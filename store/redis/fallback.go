package redis

import (
	"errors"
	"math"
	"time"

	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/window"
)

// degraded is a tenant's safe share while Redis is unreachable: 1/N of
// the credits of each of the plan's windows, pool and extra (of what the
// tenant had left when last seen, if less), ceil(cap/N) slots per
// application and class. It lives on after the outage, so a flapping
// Redis does not hand out a fresh share each time: the share's spending
// comes back as the windows' would.
type degraded struct {
	pi    *planInfo
	win   window.Window     // all of parts; nil: a window's share is empty
	parts []*window.Rolling // the pool's share, then the extra windows'
}

// share makes g's windows: 1/n of each of p's windows, of at most base
// credits.
func (g *degraded) share(p *store.Plan, base, n int64) {
	for _, x := range append([]store.WindowLimit{p.Pool()}, p.Extra...) {
		r, err := window.NewRolling(min(x.Credits, base)/n, x.Window)
		if err != nil { // an empty share (the plan was validated)
			g.parts = nil
			return
		}
		g.parts = append(g.parts, r)
	}
	if len(g.parts) == 1 {
		g.win = g.parts[0]
		return
	}
	ws := make([]window.Window, len(g.parts))
	for i, r := range g.parts {
		ws[i] = r
	}
	g.win, _ = window.NewCompound(ws...)
}

// carry charges g's windows, not yet in use, with what old's spent that
// is still out at now: a plan change during an outage must not hand out a
// fresh share. Each of g's windows takes at now the most any of old's has
// out, also past its own limit (as SetLimit keeps spending: capped at the
// limit, a share spent past the next one's would lose the rest), so it
// comes back no earlier than it would have in a window as long.
func (g *degraded) carry(now time.Time, old *degraded) {
	if old == nil {
		return
	}
	var out int64
	for _, r := range old.parts {
		var n int64
		for _, c := range r.Returns(now) {
			n += c
		}
		out = max(out, n)
	}
	if out > 0 {
		for _, r := range g.parts {
			limit := r.Limit()
			_ = r.SetLimit(window.MaxLimit)
			r.ChargeAt(now, out)
			_ = r.SetLimit(limit)
		}
	}
}

// idle reports whether no window of g has spending out: a share made anew
// would be the same.
func (g *degraded) idle(now time.Time) bool {
	for _, r := range g.parts {
		if r.RemainingAt(now) != r.Limit() {
			return false
		}
	}
	return true
}

// seen records the pool as a step saw it (the degraded share's base).
func (t *tenant) seen(pi *planInfo, d *store.Decision) {
	t.lastPlan.Store(pi)
	t.mu.Lock()
	t.last = *d
	t.mu.Unlock()
}

// bgNow is the now of steps the store makes by itself: in client time
// mode, the latest now it was given (a wall clock would move the tenants'
// frontiers to it).
func (s *Store) bgNow(now time.Time) time.Time {
	if s.cfg.clientTime {
		return time.UnixMicro(s.lastNow.Load())
	}
	return now
}

// unavailable decides a Take that Redis could not, by the failure mode.
// id and err are the failed step's (none if the breaker sent nothing): a
// take that was sent may have run and charged its credits, and the debt
// of a call FailOpen or Degraded admits then is booked as that step (see
// oweStep), never as a new charge (nor spent from a leased block).
// Its decisions give no Limit: no shared pool was read, so what they say
// of credits (FailOpen nothing, Degraded this instance's share or block)
// is not the pool's, and a caller that shows the pool (the middleware's
// limit headers, which clients reconcile with) must not show them as it.
func (s *Store) unavailable(now time.Time, t *tenant, pi *planInfo, req *store.Request, n int64, lease *Lease, d *store.Decision,
	id string, err error) {
	*d = store.Decision{Cost: n, Window: pi.p.WindowLength(), Reset: now}
	defer d.PlanFigures(pi.p, req.Class) // once the reason is known
	switch s.cfg.mode {
	case FailOpen:
		*lease = Lease{t: t, pi: pi, member: "open", kind: openLease}
		d.Allowed = true
		if err != nil {
			t.oweStep(pi, id, n, err)
		} else {
			t.owe(pi, n)
		}
		s.stats.outAdmitted.Add(1)
		s.stats.outCredits.Add(n)
		return
	case Degraded:
		if s.takeDegraded(now, t, pi, req, n, lease, d, id, err) {
			s.stats.outAdmitted.Add(1)
			return
		}
		t.oweBack(pi, id, n, err) // refused: if the take ran, it gave the call nothing it took
		if d.Reason != store.ReasonNone {
			return
		}
	}
	s.stats.refused.Add(1)
	d.Reason, d.RetryAfter = store.ReasonUnavailable, s.cfg.cooldown
}

// takeDegraded admits from the leased block, else from the share. A take
// that failed after it was sent (id, err) may have run: its credits are
// taken from the share and booked as that step, which reconcile sends
// again (it finds the take's record if it ran).
func (s *Store) takeDegraded(now time.Time, t *tenant, pi *planInfo, req *store.Request, n int64, lease *Lease, d *store.Decision,
	id string, err error) bool {
	sent := err != nil && !errors.Is(err, errOpen)
	N := int64(s.cfg.instances)
	classCap := pi.classCap(req.Class)
	akey, ckey := t.appKey(req.App), ""
	if classCap > 0 {
		ckey = t.classKey(req.Class)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.deg
	if g == nil || g.pi.id != pi.id { // by id: a PlanFunc may hand out a new pointer to the same plan
		g = &degraded{pi: pi}
		base := int64(math.MaxInt64)
		if t.last.Limit == pi.p.Credits && t.last.Window != 0 {
			base = t.last.Remaining // the least any window had left
		}
		g.share(pi.p, base, N)
		g.carry(now, t.deg)
		t.deg = g
	}
	capOf := func(c int64) int64 { return (c + N - 1) / N }
	if req.Units > capOf(pi.p.Concurrency) {
		// More units than the share holds: only Redis can admit it, so
		// the store cannot decide (ReasonUnavailable, see unavailable).
		// A concurrency refusal said a unit might come free, and the
		// client's gate let no call of the app overtake it.
		return false
	}
	// The share counts every unit this instance holds of the caps (see
	// takeShare): calls admitted through Redis before the outage and
	// still running (counted live, so a release, during the outage or
	// after, gives them back once), spares, on which takeLocal admits
	// without asking the share, takes under way (a half-open probe's:
	// Redis may admit it beside the share's), and the calls the share
	// admitted, whose slots Redis holds once it is back (see enroll).
	member := unitMember(s.newID(), max(req.Units, 1))
	if d.Reason = s.held.takeShare(t, akey, ckey, member, max(req.Units, 1), capOf(pi.p.Concurrency), capOf(classCap)); d.Reason != store.ReasonNone {
		d.RetryAfter = store.ConcurrencyRetryAfter
		return false
	}
	*lease = Lease{t: t, pi: pi, akey: akey, ckey: ckey, member: member, kind: degradedLease, deg: g}
	admitted := false
	defer func() {
		if !admitted { // refused for credits
			s.held.remove(member)
		}
	}()
	if b := t.blk; n > 0 && !sent && b != nil && b.pi == pi && b.credits >= n && req.Keep <= 0 && !b.expired(now) {
		b.credits -= n // leased already: counted in Redis
		d.Remaining, d.Used = b.credits, b.top-b.credits
	} else if n > 0 {
		if g.win == nil {
			return false
		}
		tk := g.win.TakeAt(now, n, 0, false)
		if tk.Took == 0 {
			d.Reason, d.Remaining = store.ReasonCredits, tk.Remaining
			if at, err := g.win.AvailableAt(now, n); err == nil {
				d.RetryAfter = at.Sub(now)
			} else {
				d.RetryAfter = pi.p.WindowLength()
			}
			return false
		}
		if sent && t.owedRoom(false) {
			t.owedSteps = append(t.owedSteps, owedStep{id: id, n: n})
		} else {
			t.owed += n
		}
		t.lastPlan.Store(pi) // reconcile books only a debt with a plan: a first step may be this one
		s.stats.outCredits.Add(n)
		d.Remaining = tk.Remaining
	}
	d.Allowed, admitted = true, true
	return true
}

// owe books n credits spent without Redis, to charge once it is back.
func (t *tenant) owe(pi *planInfo, n int64) {
	if n <= 0 {
		return
	}
	t.lastPlan.Store(pi)
	t.mu.Lock()
	t.owed += n
	t.mu.Unlock()
}

// owedStep is a charge that failed after it was sent, (back) a take
// that failed after it was sent and whose call Degraded refused, or (n < 0)
// a refund that failed, of slot at, replayed only before by if it was sent
// (zero: never sent).
type owedStep struct {
	id   string
	n    int64
	back bool
	at   int64
	by   time.Time
}

// maxOwedSteps bounds the steps of each kind a tenant keeps to send
// again: charges and takes' give-backs, and refunds, each kind its own
// maxOwedSteps, so that failed refunds never crowd out a charge that may
// have run (booked as new, it would be charged twice). Past it, and for a
// step the open breaker never sent, the debt is booked as new; a refund
// is dropped.
const maxOwedSteps = 64

// refund reports whether st is a refund's step.
func (st *owedStep) refund() bool { return st.n < 0 }

// owedRoom reports whether t keeps room for one more step of the kind
// (refund or not); t.mu is held.
func (t *tenant) owedRoom(refund bool) bool {
	n := 0
	for i := range t.owedSteps {
		if t.owedSteps[i].refund() == refund {
			n++
		}
	}
	return n < maxOwedSteps
}

// oweStep books n credits of step id, which failed with err: if it was
// sent (it may have run, its reply lost or late), reconcile sends it again
// with its id, and a run finds its recorded result: booked as new, a
// charge that had run was charged twice.
func (t *tenant) oweStep(pi *planInfo, id string, n int64, err error) {
	if n <= 0 {
		return
	}
	if errors.Is(err, errOpen) {
		t.owe(pi, n)
		return
	}
	t.lastPlan.Store(pi)
	t.mu.Lock()
	if t.owedRoom(false) {
		t.owedSteps = append(t.owedSteps, owedStep{id: id, n: n})
	} else {
		t.owed += n
	}
	t.mu.Unlock()
}

// oweBack books a take of n credits, step id, that failed with err and
// whose call was refused: if it was sent, it may have run and admitted,
// and its credits (and a block it leased) are then charged for a call
// that never ran. Reconcile looks up its record with a charge of nothing
// under its id, and gives back what the record says it took (once: the
// give-back has an id of its own). Past maxOwedSteps it is not booked,
// and what such a take took stays with the pool.
func (t *tenant) oweBack(pi *planInfo, id string, n int64, err error) {
	if n <= 0 || err == nil || errors.Is(err, errOpen) {
		return
	}
	t.lastPlan.Store(pi)
	t.mu.Lock()
	if t.owedRoom(false) {
		t.owedSteps = append(t.owedSteps, owedStep{id: id, back: true})
	}
	t.mu.Unlock()
}

// settleLocal settles a lease admitted without Redis. Its decisions give
// no Limit: no pool was read (see unavailable).
func (s *Store) settleLocal(now time.Time, l *Lease, delta int64, exact bool) store.Decision {
	t := l.t
	d := store.Decision{Allowed: true, Cost: delta, AddOns: l.pi.p.AddOns, Window: l.pi.p.WindowLength()}
	t.mu.Lock()
	defer t.mu.Unlock()
	g := l.deg             // its own share: one made anew since did not give its credits
	t.lastPlan.Store(l.pi) // a degraded lease's may be the tenant's only plan seen
	switch {
	case delta < 0:
		back := min(-delta, t.owed)
		t.owed -= back
		d.Cost = -back
		if g != nil && g.win != nil && l.kind == degradedLease {
			g.win.RefundAt(now, now, back)
			if cur := t.deg; cur != g && cur != nil && cur.win != nil {
				cur.win.RefundAt(now, now, back) // carried into the share made since (see carry)
			}
		}
	case l.kind == degradedLease && g != nil && g.win != nil:
		tk := g.win.TakeAt(now, delta, 0, !exact)
		if tk.Took == 0 && exact {
			d = store.Decision{Reason: store.ReasonCredits, Cost: delta, Window: d.Window, RetryAfter: d.Window}
			d.PlanFigures(l.pi.p, "")
			return d
		}
		d.Cost = tk.Took
		t.owed += tk.Took
	default:
		t.owed += delta
	}
	return d
}

// settleUnavailable settles a Redis lease while Redis is away: a charge is
// booked for later (refused if exact and the mode is FailClosed), a refund
// too (see oweRefund). No pool was read: no Limit (see unavailable).
func (s *Store) settleUnavailable(_ time.Time, l *Lease, delta int64, exact bool, id string, err error) store.Decision {
	d := store.Decision{Allowed: true, AddOns: l.pi.p.AddOns, Window: l.pi.p.WindowLength()}
	switch {
	case delta < 0:
		if s.oweRefund(l.t, l.pi, id, l.at, delta, err) {
			d.Cost = delta
		}
	case exact && s.cfg.mode == FailClosed:
		d.Allowed, d.Reason, d.Cost, d.RetryAfter = false, store.ReasonUnavailable, delta, s.cfg.cooldown
	default:
		l.t.oweStep(l.pi, id, delta, err)
		d.Cost = delta
	}
	return d
}

// reconcile charges the pools what was spent while Redis was away, once
// the circuit is closed: at the instant it is booked, so those credits
// come back later than they would have (never earlier).
func (s *Store) reconcile() {
	if c, _ := s.brk.circuit(); c != Closed {
		return
	}
	type debt struct {
		t     *tenant
		n     int64
		steps []owedStep
	}
	var out []debt
	s.tenants.each(func(t *tenant) {
		t.mu.Lock()
		if (t.owed > 0 || len(t.owedSteps) > 0) && t.lastPlan.Load() != nil && t.pin() { // kept until the debt is booked or back
			out = append(out, debt{t, t.owed, t.owedSteps})
			t.owed, t.owedSteps = 0, nil
		}
		t.mu.Unlock()
	})
	now := s.bgNow(time.Now())
	for _, x := range out {
		pi := x.t.override.Load()
		if pi == nil {
			pi = x.t.lastPlan.Load()
		}
		// the steps that may have run first, each with its own id (run
		// once: the replay finds its result), then the rest as a new
		// step, whose id it keeps once sent (see owedAgain)
		steps := append(x.steps, owedStep{id: s.newID(), n: x.n})
		for i, st := range steps {
			if st.n < 0 { // a refund
				if !s.replayRefund(x.t, pi, now, steps, i) {
					break
				}
				continue
			}
			if st.n == 0 && !st.back {
				continue
			}
			// a refused call's take: a charge of nothing finds its record
			r, _, err := s.step("charge", x.t, pi, now, "", noClass, "", st.id, st.n)
			if err == nil && r.reason != int64(store.ReasonNone) && !st.back {
				// the record of a FailOpen take that ran and was refused
				// (a charge is never refused): nothing was charged. The
				// charge anew has an id of its own, the same at every
				// reconcile: one that ran but whose replies were lost is
				// found by the next, not charged again
				r, _, err = s.step("charge", x.t, pi, now, "", noClass, "", st.id+".c", st.n)
			}
			if err != nil {
				x.t.owedAgain(steps, i)
				break
			}
			back := r.extra
			if st.back {
				if r.reason == int64(store.ReasonNone) {
					back += r.cost // the take ran and admitted: its call was refused here
				}
			} else {
				s.stats.reconciled.Add(r.cost)
				s.stats.unreconciled.Add(st.n - r.cost)
			}
			if back > 0 {
				// the record of a take that ran and leased a block beside
				// the call (a charge leases none), or admitted a call
				// Degraded refused: its caller never had the block (nor
				// the call's credits), given back at its instant, once
				// (its own id; lost if this fails: never refunded twice)
				if _, _, err := s.step("settle", x.t, pi, now, "", noClass, "", st.id+".g", r.u, -back, "0"); err == nil {
					s.stats.givenBack.Add(back)
				}
			}
		}
		x.t.unpin()
	}
}

// owedAgain books again the steps of a reconcile that failed at steps[i]
// (the last is the debt charged as new). steps[i] was sent and may have
// run: it keeps its id, the debt's charge too, so the next reconcile's
// repeat finds its record and charges nothing more (booked as new, a
// charge that ran was charged again). The steps after it were not sent
// by this reconcile; the debt's, if among them, goes back into t.owed. The
// steps go first, ahead of those booked since, and all past maxOwedSteps
// (only when more were booked during this reconcile) are booked as new.
func (t *tenant) owedAgain(steps []owedStep, i int) {
	last := len(steps) - 1
	back := steps[i:last]
	t.mu.Lock()
	defer t.mu.Unlock()
	if i == last {
		back = steps[i:]
	} else {
		t.owed += steps[last].n
	}
	all := make([]owedStep, 0, len(back)+len(t.owedSteps))
	all = append(append(all, back...), t.owedSteps...)
	kept, refunds := all[:0], 0
	for _, st := range all {
		switch n := len(kept) - refunds; {
		case st.refund() && refunds < maxOwedSteps:
			refunds++
		case !st.refund() && n < maxOwedSteps:
		default:
			t.owed += max(st.n, 0) // a refund past them is dropped (see oweRefund)
			continue
		}
		kept = append(kept, st)
	}
	t.owedSteps = kept
}
