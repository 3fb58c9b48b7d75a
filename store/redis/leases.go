package redis

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/creditgate/creditgate/store"
)

// held is a slot this instance holds in Redis: in use by a call, or spare
// (credit leasing keeps ended calls' slots for the next call of the same
// application and class, until a renewal period passes unused). A spare
// pins its tenant, as the lease it was did: spares are found by tenant,
// and a tenant made anew after a trim would not find its own.
type held struct {
	t          *tenant
	akey, ckey string
	member     string
	pair       string
	spare      bool
	used       bool // a spare taken since the last renewal
	lost       bool // a spare Redis lost, taken by a call since the sweep (see lose)
	nospare    bool // not to be kept as a spare (a renewal found its application marked: see L.marked)
	// pending: the member of a take under way (sent, not yet answered),
	// counted by Degraded's share (see takeDegraded) and renewed by no one:
	// Redis holds it only if the take admits.
	pending bool
	// fresh: a slot Degraded's share admitted that no renewal has held in
	// Redis yet (see enroll); renewals hold it as any call's in flight.
	fresh      bool
	prev, next *held // t's slots (see leases.byT)
}

// pairOf is the pair of app and class, the key of their spare slots:
// app's length first, as names are any bytes (app+NUL+class was one pair
// for app "a" class "b\x00c" and app "a\x00b" class "c", whose calls then
// ran on each other's spares, uncounted in their own application's key).
func pairOf(app, class string) string { return appPrefix(app) + class }

// appPrefix is how the pairs of app's classes begin.
func appPrefix(app string) string { return strconv.Itoa(len(app)) + ":" + app }

type spareKey struct {
	t    *tenant
	pair string
}

// leases is the registry the renewer walks.
type leases struct {
	mu     sync.Mutex // protects m, spares, byT and the held's lists
	m      map[string]*held
	spares map[spareKey][]*held
	// byT lists each tenant's slots (m's, linked by prev and next), for
	// Degraded's share to count them without walking every tenant's
	// (see held).
	byT map[*tenant]*held
}

func (h *leases) init() {
	h.m = map[string]*held{}
	h.spares = map[spareKey][]*held{}
	h.byT = map[*tenant]*held{}
}

func (h *leases) add(l *Lease) {
	h.mu.Lock()
	if x := h.m[l.member]; x != nil { // a reused spare, or the take's reservation: the take held it
		x.spare, x.lost, x.nospare, x.pending = false, false, false, false
		x.ckey, x.pair = l.ckey, l.pair // the plan Redis holds may cap the class, or not
	} else {
		h.list(&held{t: l.t, akey: l.akey, ckey: l.ckey, member: l.member, pair: l.pair})
	}
	h.mu.Unlock()
}

// list registers x; h.mu is held.
func (h *leases) list(x *held) {
	h.m[x.member] = x
	if x.next = h.byT[x.t]; x.next != nil {
		x.next.prev = x
	}
	h.byT[x.t] = x
	if x.fresh {
		x.t.fresh.Add(1)
	}
}

// reserve counts the member of t's take about to be sent (see held's
// pending) until add (admitted) or remove. Under h.mu, as takeShare
// counts and lists a fresh slot: either the share counts the take, or
// the take, reading t.fresh after reserve, sees the share's slot and
// enrolls it before it is sent.
func (h *leases) reserve(t *tenant, akey, ckey, member string) {
	h.mu.Lock()
	h.list(&held{t: t, akey: akey, ckey: ckey, member: member, pending: true})
	h.mu.Unlock()
}

// takeShare admits a call of units on Degraded's share of the caps,
// capA of t's application key akey and capC of its class key ckey (none
// if ""), against the units this instance holds of them: calls in flight
// (admitted through Redis or by the share), spares, and takes under way.
// The call's slot is listed fresh under member. It returns the reason of
// a refusal, ReasonNone if admitted.
func (h *leases) takeShare(t *tenant, akey, ckey, member string, units, capA, capC int64) store.Reason {
	h.mu.Lock()
	defer h.mu.Unlock()
	var app, class int64
	for x := h.byT[t]; x != nil; x = x.next {
		if x.akey == akey {
			app += memberUnits(x.member)
		}
		if ckey != "" && x.ckey == ckey {
			class++
		}
	}
	switch {
	case app+units > capA:
		return store.ReasonConcurrency
	case ckey != "" && class >= capC:
		return store.ReasonSubConcurrency
	}
	h.list(&held{t: t, akey: akey, ckey: ckey, member: member, fresh: true})
	return store.ReasonNone
}

// del forgets x, if listed; h.mu is held.
func (h *leases) del(x *held) {
	if h.m[x.member] != x {
		return
	}
	delete(h.m, x.member)
	if x.fresh {
		x.t.fresh.Add(-1)
		x.fresh = false
	}
	switch {
	case x.prev != nil:
		x.prev.next = x.next
	case x.next != nil:
		h.byT[x.t] = x.next
	default:
		delete(h.byT, x.t) // its last: the map keeps no tenant dropped from the cache
	}
	if x.next != nil {
		x.next.prev = x.prev
	}
	x.prev, x.next = nil, nil
}

// gone returns the members of ms this instance no longer holds.
func (h *leases) gone(ms []string) (out []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range ms {
		if h.m[m] == nil {
			out = append(out, m)
		}
	}
	return out
}

// unspare takes out the spares among ms, forgotten (their pins are the
// caller's to drop once it has queued their release), and marks the
// others, slots of calls in flight, not to be kept as spares when their
// calls end: their application is marked (see L.marked).
func (h *leases) unspare(ms []string) (out []*held) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range ms {
		x := h.m[m]
		switch {
		case x == nil:
		case x.spare:
			h.del(x)
			h.unlist(x)
			out = append(out, x)
		default:
			x.nospare = true
		}
	}
	return out
}

// unlist takes spare x out of its pair's spares; h.mu is held.
func (h *leases) unlist(x *held) {
	k := spareKey{x.t, x.pair}
	s := h.spares[k]
	for i, y := range s {
		if y == x {
			s = append(s[:i], s[i+1:]...)
			break
		}
	}
	if len(s) == 0 {
		delete(h.spares, k)
	} else {
		h.spares[k] = s
	}
	x.spare = false
}

func (h *leases) remove(member string) {
	h.mu.Lock()
	if x := h.m[member]; x != nil {
		h.del(x)
	}
	h.mu.Unlock()
}

// maxSpares bounds the spare slots an instance keeps per pair: a spare is a
// slot of the shared cap that no call of any instance can use, and a busy
// instance that kept every slot it released starved the others (two
// gateway replicas on one application: one held all four slots, the other
// got only 429s).
const maxSpares = 1

// spare keeps l's slot for the next call of its pair, unless the pair has
// maxSpares already; false: the caller releases it. If true, the spare
// holds l's pin of its tenant.
func (h *leases) spare(l *Lease) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	x := h.m[l.member]
	k := spareKey{l.t, l.pair}
	if x == nil || x.lost || l.nospare || x.nospare || len(h.spares[k]) >= maxSpares {
		return false
	}
	x.spare = true
	h.spares[k] = append(h.spares[k], x)
	return true
}

// popSpare takes a spare slot of t's pair, nil if none, and drops the
// spare's pin of t (the caller holds one).
func (h *leases) popSpare(t *tenant, pair string) *held {
	return h.popSpareOf(t, pair, anyClass)
}

// popAppSpares takes every spare slot of t's application app (of any
// class: each holds a unit of the app's key), and drops their pins of t
// (the caller holds one). It walks all spares: only a take of several
// units calls it.
func (h *leases) popAppSpares(t *tenant, app string) (out []*held) {
	h.mu.Lock()
	defer h.mu.Unlock()
	pre := appPrefix(app)
	for k, s := range h.spares {
		if k.t != t || !strings.HasPrefix(k.pair, pre) {
			continue
		}
		delete(h.spares, k)
		for _, x := range s {
			x.spare, x.used = false, true
			t.unpin()
		}
		out = append(out, s...)
	}
	return out
}

// The class keys a spare popSpareOf may take: any, none, or one.
const (
	anyClass = iota
	noClassKey
	classKeyed
)

// popSpareOf is popSpare, taking the spare only if its slot's class key
// is what keyed asks (takeLocal's plan's): a spare of another plan's
// class caps is left for a take through Redis, which releases it.
func (h *leases) popSpareOf(t *tenant, pair string, keyed int) *held {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := spareKey{t, pair}
	s := h.spares[k]
	if len(s) == 0 {
		return nil
	}
	x := s[len(s)-1]
	if keyed != anyClass && (x.ckey != "") != (keyed == classKeyed) {
		return nil
	}
	if len(s) == 1 {
		delete(h.spares, k)
	} else {
		h.spares[k] = s[:len(s)-1]
	}
	x.spare, x.used = false, true
	t.unpin()
	return x
}

// pushSpare puts back a spare that a refused take did not use, pinning
// its tenant again (the caller holds a pin, so it cannot fail), unless a
// call of the pair that ended meanwhile made the pair's maxSpares: then it
// forgets x and returns false, and the caller releases it.
func (h *leases) pushSpare(x *held) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := spareKey{x.t, x.pair}
	if h.m[x.member] != x { // lost meanwhile (see lose)
		return false
	}
	if x.lost { // lost meanwhile, and the take did not hold it again
		h.del(x)
		return false
	}
	if len(h.spares[k]) >= maxSpares {
		h.del(x)
		return false
	}
	x.t.pin()
	x.spare = true
	h.spares[k] = append(h.spares[k], x)
	return true
}

// lose forgets a spare Redis no longer holds (a restart, a failover, an
// eviction, a lease that expired; renewals hold the slots of calls in
// flight again, see op_renew): it is dropped with its pin.
// Kept, a spare admitted calls without a round trip on a slot no one
// counted. If a call took it since the sweep, it is the slot of a call in
// flight: kept, marked lost, for the next renewal to hold again (forgotten,
// no renewal did, and the caps admitted beside the call as long as it
// ran), and released as a spare is not (see spare) when the call ends.
func (h *leases) lose(member string) {
	h.mu.Lock()
	x := h.m[member]
	if x == nil {
		h.mu.Unlock()
		return
	}
	if !x.spare {
		x.lost = true
		h.mu.Unlock()
		return
	}
	h.del(x)
	spare := x.spare
	if spare {
		h.unlist(x)
	}
	h.mu.Unlock()
	if spare {
		x.t.unpin()
	}
}

// drop releases a spare no take of the current plan can use (its slot
// counts in a class key the plan no longer caps, or the other way round):
// kept, it would hold that slot from every instance until the sweep.
func (s *Store) drop(x *held) {
	s.held.remove(x.member)
	s.queue(x.t, rel{x.akey, x.ckey, x.member})
}

// putBack puts back a spare a take did not use, or releases it.
func (s *Store) putBack(x *held) {
	if !s.held.pushSpare(x) {
		s.queue(x.t, rel{x.akey, x.ckey, x.member})
	}
}

// renewHook, when set (tests built with -tags creditgate_testhooks), runs
// in renewAll between the sweep and the renewals it sends.
var renewHook func()

type group struct {
	t          *tenant
	akey, ckey string
}

// renewal is a group's slots to renew: those of calls in flight, then
// the spares; fresh of the former are fresh (see held).
type renewal struct {
	inuse, spares []string
	fresh         int
}

// renewals are the renewals of groups.
type renewals map[group]*renewal

// sweep groups the slots to renew by their keys, and takes out the spares
// unused since the last sweep (all of them if all), to give back: the
// caller then drops their pins.
func (h *leases) sweep(all bool) (renew renewals, drop map[group][]string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	renew, drop = renewals{}, map[group][]string{}
	for k, s := range h.spares {
		keep := s[:0]
		for _, x := range s {
			if all || !x.used {
				g := group{x.t, x.akey, x.ckey}
				drop[g] = append(drop[g], x.member)
				h.del(x)
				continue
			}
			x.used = false
			keep = append(keep, x)
		}
		if len(keep) == 0 {
			delete(h.spares, k)
		} else {
			h.spares[k] = keep
		}
	}
	for _, x := range h.m {
		if !x.pending { // Redis holds a take's slot once it admits
			renew.put(x)
		}
	}
	return renew, drop
}

// put adds x to its group's renewal.
func (rs renewals) put(x *held) {
	g := group{x.t, x.akey, x.ckey}
	r := rs[g]
	if r == nil {
		r = &renewal{}
		rs[g] = r
	}
	switch {
	case x.spare:
		r.spares = append(r.spares, x.member)
	case x.fresh:
		r.fresh++
		fallthrough
	default:
		r.inuse = append(r.inuse, x.member)
	}
}

// fresh groups t's fresh slots (see held), to enroll.
func (h *leases) fresh(t *tenant) renewals {
	h.mu.Lock()
	defer h.mu.Unlock()
	rs := renewals{}
	for x := h.byT[t]; x != nil; x = x.next {
		if x.fresh {
			rs.put(x)
		}
	}
	return rs
}

// enrolled marks the slots among ms that are fresh held in Redis (a
// renewal of them succeeded).
func (h *leases) enrolled(ms []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range ms {
		if x := h.m[m]; x != nil && x.fresh {
			x.fresh = false
			x.t.fresh.Add(-1)
		}
	}
}

// enroll holds in Redis t's fresh slots, ahead of a take of t (see
// reserve): the calls Degraded's share admitted during an outage run on
// after it, and Redis must count them before it admits beside them. If
// others filled the caps meanwhile, Redis then holds more than a cap (the
// outage's overshoot): they refuse until enough calls end. A failure
// leaves them fresh, for the next take or renewal.
func (s *Store) enroll(t *tenant) {
	if rs := s.held.fresh(t); len(rs) > 0 {
		s.renew(rs, nil)
	}
}

// renewAll pushes the deadlines of the slots held on, and gives back idle
// spares, in one pipeline.
func (s *Store) renewAll(all bool) {
	renew, drop := s.held.sweep(all)
	if testHooks && renewHook != nil {
		renewHook()
	}
	defer func() { // once the spares' slots are given back (or left to expire)
		for g, ms := range drop {
			for range ms {
				g.t.unpin()
			}
		}
	}()
	s.renew(renew, drop)
}

// renew renews the slots of renew and gives back the spares of drop, in
// one pipeline.
func (s *Store) renew(renew renewals, drop map[group][]string) {
	if len(renew)+len(drop) == 0 {
		return
	}
	probe, ok := s.brk.allow(time.Now())
	if !ok {
		return // the slots expire if Redis stays away; the holders are told nothing
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.timeout)
	defer cancel()
	type sent struct {
		g             group
		inuse, spares []string
		fresh         int
		keys          []string
		args          []any
		n             int
		cmd           *goredis.Cmd
	}
	var cmds []sent
	_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for g, r := range renew {
			// the slots of calls in flight first: held again if lost (see op_renew)
			args := []any{"renew", "", "", 0, 0, 0, 0, 0, s.cfg.leaseTTL.Microseconds(), 3 * s.cfg.leaseTTL.Milliseconds(),
				len(r.inuse)}
			for _, m := range r.inuse {
				args = append(args, m)
			}
			for _, m := range r.spares {
				args = append(args, m)
			}
			keys := stepKeys(g.t, g.akey, g.ckey, "")
			cmds = append(cmds, sent{g, r.inuse, r.spares, r.fresh, keys, args, len(r.inuse) + len(r.spares), p.EvalSha(ctx, scriptSHA, keys, args...)})
		}
		for g, ms := range drop {
			for _, m := range ms {
				zrems(ctx, p, []rel{{g.akey, g.ckey, m}})
			}
		}
		return nil
	})
	s.stats.roundTrips.Add(1)
	ok = err == nil || isNoScript(err) || moving(err)
	for _, c := range cmds {
		v, err := c.cmd.Result()
		// run again where the node lacked the script (eval loads it), or
		// the slot was on the move: leases held must not expire meanwhile
		send := func() (err error) {
			v, err = s.eval(ctx, c.keys, c.args, nil)
			return err
		}
		if err != nil && isNoScript(err) {
			err = send()
		}
		if err = whileMoving(ctx, err, send); err != nil && moving(err) {
			ok = false // still on the move at the deadline
		}
		if a, ok := v.([]any); ok && err == nil && c.n > 0 && len(a) > 4 {
			if c.fresh > 0 {
				s.held.enrolled(c.inuse)
			}
			// fresh slots were not held: not lost
			if kept, _ := a[1].(int64); kept < int64(c.n-c.fresh) {
				s.stats.leasesLost.Add(int64(c.n-c.fresh) - kept)
			}
			if s.cfg.maxBlock > 0 { // the tenant's windows as they are now (see checkBlock)
				e, _ := a[2].(int64)
				f, _ := a[3].(int64)
				s.checkBlock(c.g.t, e, f)
			}
			if marked, _ := a[4].(int64); marked == 1 { // see L.marked
				// the spares still spare are given back; a spare a call
				// took since the sweep is released when the call ends
				for _, x := range append(s.held.unspare(c.inuse), s.held.unspare(c.spares)...) {
					s.queue(x.t, rel{x.akey, x.ckey, x.member})
					x.t.unpin()
				}
			}
			for _, m := range a[5:] { // spares not held: none may admit on them
				if m, ok := m.(string); ok {
					s.held.lose(m)
				}
			}
		}
		// a call that ended since the sweep may have had its slot released
		// before the renewal ran, which then held it again, for no call,
		// until its lease ran out: released again (ZREM is idempotent)
		for _, m := range s.held.gone(c.inuse) {
			s.queue(c.g.t, rel{c.g.akey, c.g.ckey, m})
		}
	}
	if !ok {
		s.stats.errors.Add(1) // every failure the breaker counts is an error in Stats
	}
	s.brk.done(ok, probe, time.Now())
}

// background renews leases every third of their TTL; with credit leasing
// it gives back idle blocks; after an outage it books what was spent.
func (s *Store) background() {
	defer close(s.stopped)
	tick := time.NewTicker(s.cfg.leaseTTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			s.giveBackBlocks(time.Now(), true)
			s.renewAll(true)
			return
		case <-tick.C:
			s.renewAll(false)
			// blocks are judged on the callers' clock (see block.expired):
			// in client time mode the latest now they gave
			s.giveBackBlocks(s.bgNow(time.Now()), false)
			s.reconcile()
			if s.tenants.n.Load() > int64(s.tenants.max) { // the tenants get left busy may be idle now
				s.tenants.trim(s.bgNow(time.Now()))
			}
		}
	}
}
