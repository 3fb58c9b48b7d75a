package redis

import (
	"time"

	"github.com/creditgate/creditgate/store"
)

// block is a tenant's leased credits: taken from every window of the plan
// in one step, counted at one instant (at), spent here without a round
// trip, and what is left given back into the slot it was taken in.
type block struct {
	pi      *planInfo
	credits int64     // left to spend
	taken   int64     // what this instance counted in Redis at at: the block and the take that leased it
	at      int64     // us: the instant the block was counted at
	top     int64     // the pool's use just after the block was taken
	rem     int64     // what the pool had left just after
	reset   time.Time // the pool's reset then
	until   time.Time // caller's clock: spend no later than this
	epoch   int64     // the windows' epoch it was taken in (see lib.lua)
	// since is when the block came back, on this process's monotonic
	// clock: it is not spent past spendFor from then either, whatever the
	// caller's now says (in server time mode the windows roll by Redis's
	// clock; a caller's clock may stand still or go back).
	since time.Time
	used  bool // spent from since the last sweep
}

// expired reports whether b may be spent no more at now: past its
// deadline on the caller's clock, or spendFor past its taking in real
// time.
func (b *block) expired(now time.Time) bool {
	return now.After(b.until) || time.Since(b.since) > b.pi.spendFor
}

// initialBlock is the first block's target: a block starts small and
// doubles each time one is used up.
const initialBlock = 8

// want is the size of the next block to ask for.
func (t *tenant) want(maxBlock int64) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.bwant == 0 {
		t.bwant = min(initialBlock, maxBlock)
	}
	return t.bwant
}

// takeLocal admits req from t's block and a spare slot, if both cover it.
func (s *Store) takeLocal(now time.Time, t *tenant, pi *planInfo, req *store.Request, n int64, lease *Lease, d *store.Decision) bool {
	if req.Keep > 0 || !pi.roll || req.Units > 1 { // spares are of one unit (see Release)
		return false
	}
	pair := pairOf(req.App, req.Class)
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.blk
	if n > 0 && (b == nil || b.pi != pi || b.credits < n || b.expired(now)) {
		return false
	}
	// A spare kept under a plan with other class caps has its slot in
	// another class key (or none): taken here, the class's cap would not
	// count this call.
	keyed := noClassKey
	if pi.classCap(req.Class) > 0 {
		keyed = classKeyed
	}
	x := s.held.popSpareOf(t, pair, keyed)
	if x == nil {
		return false
	}
	*lease = Lease{t: t, pi: pi, akey: x.akey, ckey: x.ckey, member: x.member, kind: remoteLease, pair: pair}
	*d = store.Decision{Allowed: true, Cost: n, Limit: pi.p.Credits, AddOns: pi.p.AddOns, Window: pi.p.WindowLength()}
	if b != nil && b.pi == pi {
		b.credits -= n
		b.used = true
		lease.at = b.at
		d.Used, d.Remaining, d.Reset = b.top-b.credits, b.rem+b.credits, b.reset
	} else { // a free call on a spare slot: the pool as last seen
		d.Used, d.Remaining, d.Reset = t.last.Used, t.last.Remaining, t.last.Reset
	}
	s.stats.local.Add(1)
	return true
}

// newBlock keeps the extra credits a take leased; a block it replaces
// gives back what it had left.
func (s *Store) newBlock(now time.Time, t *tenant, pi *planInfo, r reply, d *store.Decision) {
	t.mu.Lock()
	old := t.blk
	t.blk = &block{pi: pi, credits: r.extra, taken: r.extra + r.cost, at: r.u, top: r.used, rem: r.remaining, reset: d.Reset,
		until: now.Add(pi.spendFor), since: time.Now(), used: true, epoch: r.epoch}
	t.bwant = min(2*t.bwant, s.cfg.maxBlock)
	t.mu.Unlock()
	s.stats.blocks.Add(1)
	// The decision says what this call left: the block is this instance's.
	d.Remaining += r.extra
	d.Used -= r.extra
	if old != nil && old.credits > 0 {
		s.giveBack(now, t, old)
	}
}

// settleBlock settles a lease counted at the block's instant against the
// block: a refund goes back into it (it is in the same slot), a charge
// comes out of it if it holds enough.
func (s *Store) settleBlock(now time.Time, l *Lease, delta int64) (store.Decision, bool) {
	t := l.t
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.blk
	if b == nil || b.pi != l.pi || b.at != l.at || delta > b.credits || b.expired(now) {
		return store.Decision{}, false
	}
	// a refund beyond what was counted there would be credits Redis still offers to all
	delta = max(delta, b.credits-b.taken)
	b.credits -= delta
	b.used = true
	return store.Decision{Allowed: true, Cost: delta, Limit: l.pi.p.Credits, AddOns: l.pi.p.AddOns, Window: l.pi.p.WindowLength(),
		Used: b.top - b.credits, Remaining: b.rem + b.credits, Reset: b.reset}, true
}

// checkBlock drops t's block, unspent and not given back, if a reply
// found the windows' frontier (the latest instant they counted at, on
// their clock: Redis's, or in client time mode the latest now any
// instance gave) spendFor past the block's instant, or the tenant's
// windows in another epoch than the block's: made anew
// (a restart without persistence, a failover, an eviction: they no longer
// count the block, and a refund would take back what was spent since) or
// reshaped for another plan (SetPlan: the block's credits may come back
// with the new windows before the block's end). Checked on every reply
// and renewal for the tenant, not on the local path: until then, the
// block is spent as before.
func (s *Store) checkBlock(t *tenant, epoch, frontier int64) {
	t.mu.Lock()
	if b := t.blk; b != nil && (b.epoch != epoch || frontier >= b.at+b.pi.spendFor.Microseconds()) {
		t.blk = nil
		s.stats.blocksDropped.Add(1)
	}
	t.mu.Unlock()
}

// giveBack refunds a block's unspent credits into the slot it was taken in.
func (s *Store) giveBack(now time.Time, t *tenant, b *block) {
	if _, _, err := s.step("settle", t, b.pi, s.bgNow(now), "", noClass, "", s.newID(), b.at, -b.credits, "0"); err == nil {
		s.stats.givenBack.Add(b.credits)
	}
}

// giveBackBlocks gives back the blocks unused since the last sweep (all
// of them if all), halving their tenants' next block.
func (s *Store) giveBackBlocks(now time.Time, all bool) {
	if s.cfg.maxBlock == 0 {
		return
	}
	type back struct {
		t *tenant
		b *block
	}
	var out []back
	s.tenants.each(func(t *tenant) {
		t.mu.Lock()
		if b := t.blk; b != nil {
			if all || !b.used || b.expired(now) {
				t.blk = nil
				t.bwant = max(t.bwant/2, 1)
				out = append(out, back{t, b})
			} else {
				b.used = false
			}
		}
		t.mu.Unlock()
	})
	for _, x := range out {
		if x.b.credits > 0 {
			s.giveBack(now, x.t, x.b)
		}
	}
}
