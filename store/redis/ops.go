package redis

import (
	"fmt"
	"time"

	"github.com/creditgate/creditgate/store"
)

// Take implements store.Store: one script run takes the application's
// slot, the class's slot and the credits of every window, all or nothing.
// With credit leasing, a call that the instance's block and spare slots
// cover makes no round trip. When Redis cannot be reached, the failure
// mode decides (see Mode).
func (s *Store) Take(now time.Time, req *store.Request, plans store.PlanFunc, lease *Lease, d *store.Decision) {
	t := s.tenants.get(now, req.Tenant)
	s.take(now, t, req, plans, lease, d)
	if !d.Allowed { // an admission's lease keeps t pinned until Release
		*lease = Lease{}
		t.unpin()
		return
	}
	lease.credits = d.Cost
}

func (s *Store) take(now time.Time, t *tenant, req *store.Request, plans store.PlanFunc, lease *Lease, d *store.Decision) {
	pi := s.planOf(t, plans)
	n := max(req.Credits, 0)
	if req.Units > min(pi.p.Concurrency, store.MaxUnits) {
		// Never admitted, and never sent as a take: each unit is a member
		// of the app's key (see unitMember), and the release of a take
		// that may have run would remove that many. The pool is read (a
		// peek: read-only, one round trip, none while the breaker is open)
		// for the refusal to name it as any other does (store.Decision's
		// Limit 0 says no pool was read): refused for ever, such a call
		// costs one round trip and the caller gets its limit headers.
		// Out of reach, it is refused all the same, in every mode (none
		// admits more than the cap), reading no pool.
		r, rpi, err := s.step("peek", t, pi, now, "", noClass, "", "", 0, "1") // "1": under a plan pending for the tenant, as the take would adopt it
		if err != nil {
			*d = store.Decision{Reason: store.ReasonConcurrency, Cost: n, Window: pi.p.WindowLength(), RetryAfter: store.ConcurrencyRetryAfter}
			d.PlanFigures(pi.p, req.Class)
			return
		}
		if req.Units > min(rpi.p.Concurrency, store.MaxUnits) {
			decision(r, rpi, req.Class, d)
			d.Allowed, d.Reason, d.Cost, d.RetryAfter = false, store.ReasonConcurrency, n, store.ConcurrencyRetryAfter
			d.PlanFigures(rpi.p, req.Class) // once the reason is known
			t.seen(rpi, d)
			return
		}
		pi = rpi // the plan Redis holds (SetPlan), not yet seen here, admits it: taken as any other
	}
	if s.cfg.maxBlock > 0 && s.takeLocal(now, t, pi, req, n, lease, d) {
		return
	}
	if s.brk.isOpen(time.Now()) {
		s.unavailable(now, t, pi, req, n, lease, d, "", nil)
		return
	}
	id := s.newID()
	want := int64(0)
	if s.cfg.maxBlock > 0 && pi.roll && req.Keep <= 0 && n > 0 {
		want = t.want(s.cfg.maxBlock)
	}
	pair := pairOf(req.App, req.Class)
	akey := t.appKey(req.App)
	ckeyFor := func(pi *planInfo) string {
		if pi.classCap(req.Class) > 0 {
			return t.classKey(req.Class)
		}
		return ""
	}
	member := unitMember(id, req.Units)
	if s.cfg.maxBlock > 0 && req.Units > 1 {
		// This instance's spares of the app are units of its key that no
		// call uses: kept, a call of the whole cap (Zoho's composite) was
		// refused with nothing in flight for as long as calls of one unit
		// kept them. Given back first: the step sends the releases ahead
		// of the take (see takePending).
		for _, x := range s.held.popAppSpares(t, req.App) {
			s.drop(x)
		}
	}
	var spare *held
	if s.cfg.maxBlock > 0 && req.Units <= 1 { // spares are of one unit (see Release)
		if spare = s.held.popSpare(t, pair); spare != nil && spare.ckey != ckeyFor(pi) {
			s.drop(spare) // of another plan's class caps: no take of this plan can use it
			spare = nil
		}
		if spare != nil {
			member = spare.member // counted already: reused, not taken again
		}
	}
	rid, reuse := "", "0" // a take's replay is known by its member (see ops.lua)
	if spare != nil {
		rid, reuse = id, "1"
	}
	if s.cfg.mode != FailClosed {
		// recorded: a take that fails after it was sent is admitted and
		// its credits booked by sending a charge with its id again, which
		// finds this record if the take ran (see unavailable)
		rid = id
	}
	if spare == nil { // a spare is counted already
		s.held.reserve(t, akey, ckeyFor(pi), member)
	}
	if t.fresh.Load() > 0 { // after reserve: see there
		if s.enroll(t); t.fresh.Load() > 0 && spare == nil {
			// not enrolled (its round trip failed, or another's probe
			// held the breaker): Redis counts none of the share's calls
			// and would admit beside them. The share decides, as if Redis
			// were away; nothing was sent for this take.
			s.held.remove(member)
			s.unavailable(now, t, pi, req, n, lease, d, "", fmt.Errorf("%w: %w", ErrUnavailable, errOpen))
			return
		}
	}
	r, pi, err := s.step("take", t, pi, now, akey, ckeyFor, req.Class, rid,
		member, s.cfg.leaseTTL.Microseconds(), 3*s.cfg.leaseTTL.Milliseconds(), n, max(req.Keep, 0), want, blockFraction, reuse, "0")
	if err == nil {
		decision(r, pi, req.Class, d)
		t.seen(pi, d)
	}
	if err != nil || !d.Allowed {
		if spare == nil {
			s.held.remove(member) // no longer under way: the share need not count it
		}
		switch {
		case spare != nil && err == nil && d.Reason == store.ReasonCredits:
			s.putBack(spare)
		case spare != nil:
			// given up: the script drops a spare that the caps (of a plan
			// stored since) no longer leave room for, and refuses for
			// them; and a step that failed may have run. Kept, the spare
			// would admit calls here (takeLocal) on a slot Redis does not
			// count.
			s.drop(spare)
		case err != nil: // it may have run and held the slot, which no one would renew or release
			s.queue(t, rel{akey, ckeyFor(pi), member})
		}
		if err != nil {
			s.unavailable(now, t, pi, req, n, lease, d, id, err)
		}
		return
	}
	*lease = Lease{t: t, pi: pi, akey: akey, ckey: ckeyFor(pi), member: member, at: r.u, kind: remoteLease, pair: pair,
		nospare: r.marked == 1}
	s.held.add(lease)
	if r.extra > 0 {
		s.newBlock(now, t, pi, r, d)
	}
}

// Release implements store.Store. It is idempotent: a second Release of
// the same lease does nothing.
func (s *Store) Release(l *Lease) {
	t := l.t
	if t == nil {
		*l = Lease{}
		return
	}
	switch {
	case l.kind == openLease: // nothing held
	case s.cfg.maxBlock > 0 && l.kind == remoteLease && memberUnits(l.member) == 1 && s.held.spare(l):
		// kept for the next call of the pair (see WithCreditLeasing),
		// with the Take's pin: t stays cached while its spare is held.
		// Never a call of several units: a spare holds its units from
		// every instance, and Zoho Free's cap is one composite call.
		*l = Lease{}
		return
	default: // a degraded lease's slot too: Redis may hold it (see enroll)
		s.held.remove(l.member)
		s.queue(t, rel{l.akey, l.ckey, l.member})
	}
	*l = Lease{}
	t.unpin() // the Take's pin
}

// Settle implements store.Store: a refund goes back into the slot the
// credits were taken in (what is still out there); a charge takes up to
// delta, or with exact all of it or nothing. The lease keeps what it was
// charged: a credits refusal's Exceeds is of its whole charge. A settle
// whose call fails is booked and sent again once Redis answers, a refund
// too, then into the same slot (see Failures in the package doc); its
// Cost is what was booked.
func (s *Store) Settle(now time.Time, l *Lease, delta int64, exact bool) store.Decision {
	d := s.settle(now, l, delta, exact)
	switch {
	case d.Allowed:
		l.credits += d.Cost
	case d.Reason == store.ReasonCredits: // l.pi is the plan it was decided under
		d.SettleFigures(l.pi.p, l.credits)
	}
	return d
}

// settle is Settle but for the lease's charge.
func (s *Store) settle(now time.Time, l *Lease, delta int64, exact bool) store.Decision {
	var d store.Decision
	if l.t == nil {
		return store.Decision{Allowed: true}
	}
	if delta == 0 {
		return store.Decision{Allowed: true, AddOns: l.pi.p.AddOns}
	}
	if l.kind != remoteLease {
		return s.settleLocal(now, l, delta, exact)
	}
	if s.cfg.maxBlock > 0 {
		if d, ok := s.settleBlock(now, l, delta); ok {
			return d
		}
	}
	id := s.newID()
	x := "0"
	if exact {
		x = "1"
	}
	r, pi, err := s.step("settle", l.t, l.pi, now, "", noClass, "", id, l.at, delta, x)
	if err != nil {
		return s.settleUnavailable(now, l, delta, exact, id, err)
	}
	l.pi = pi
	decision(r, pi, "", &d)
	return d
}

// Charge implements store.Store.
func (s *Store) Charge(now time.Time, tenant string, n int64, plans store.PlanFunc) store.Decision {
	t := s.tenants.get(now, tenant)
	defer t.unpin()
	pi := s.planOf(t, plans)
	var d store.Decision
	id := s.newID()
	r, pi, err := s.step("charge", t, pi, now, "", noClass, "", id, max(n, 0))
	if err != nil {
		t.oweStep(pi, id, max(n, 0), err)
		// No pool read: no Limit (see unavailable).
		return store.Decision{Allowed: true, Cost: max(n, 0), AddOns: pi.p.AddOns, Window: pi.p.WindowLength()}
	}
	decision(r, pi, "", &d)
	t.seen(pi, &d)
	return d
}

// Peek implements store.Store: it creates nothing. Unreachable, it says
// so (Reason store.ReasonUnavailable) with the plan's figures.
func (s *Store) Peek(now time.Time, tenant string, n int64, plans store.PlanFunc) store.Decision {
	t := s.tenants.get(now, tenant)
	defer t.unpin()
	pi := s.planOf(t, plans)
	var d store.Decision
	r, pi, err := s.step("peek", t, pi, now, "", noClass, "", "", n)
	if err != nil {
		return store.Decision{Reason: store.ReasonUnavailable, Limit: pi.p.Credits, AddOns: pi.p.AddOns, Window: pi.p.WindowLength(),
			RetryAfter: s.cfg.cooldown}
	}
	decision(r, pi, "", &d)
	switch {
	case n <= 0:
	case r.retry < 0:
		d.RetryAfter = d.Window // more than the pool
	default:
		d.RetryAfter = time.Duration(r.retry) * time.Microsecond
	}
	return d
}

// SetPlan implements store.Store: the plan is stored in Redis, where every
// instance's next step for the tenant finds it (and switches to it). A
// tenant Redis does not hold is not created; the plan waits briefly for a
// creation already under way (see store.Store.SetPlan).
func (s *Store) SetPlan(now time.Time, tenant string, p *store.Plan) error {
	if err := p.Validate(); err != nil {
		return err
	}
	t := s.tenants.get(now, tenant)
	defer t.unpin()
	c := p.Clone()
	pi := newPlanInfo(&c, s.cfg.slots)
	pending := max(2*s.cfg.timeout, time.Second).Milliseconds()
	args := make([]any, 0, 16)
	args = append(args, "setplan", s.nowArg(now))
	args = pi.args(args, "", s.cfg.replayTTL.Milliseconds(), now)
	args = append(args, pi.enc, pending)
	for range maxSteps {
		pre := t.takePending()
		v, err := s.call(stepKeys(t, "", "", ""), args, pre, -1)
		if err != nil {
			for _, r := range pre {
				s.queue(t, r)
			}
			return err
		}
		if status(v) != statusPeriods {
			if held, _ := v[1].(int64); held == 1 {
				t.override.Store(pi)
			}
			return nil
		}
		u, _ := v[1].(int64)
		args = append(args[:2], nil)[:2]
		args = pi.args(args, "", s.cfg.replayTTL.Milliseconds(), time.UnixMicro(u))
		args = append(args, pi.enc, pending)
	}
	return ErrReply
}
