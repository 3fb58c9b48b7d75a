package memory

import (
	"runtime"
	"time"

	"github.com/creditgate/creditgate/internal/slots"
	"github.com/creditgate/creditgate/internal/strhash"
	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/window"
)

// Lease is the in-memory store's record of one admission: the tenant and the
// slots it holds, so that Release and Settle need no lookup and cannot hit
// slots a plan change put in their place. Its zero value is no admission.
type Lease struct {
	s        *Store // the store of t: a lease may be reused with another
	t        *tenant
	app, cls *slots.Slots // the application's and the class's own slots, nil if in slots0 or none
	which    uint64       // what t.slots0 holds of the admission (a slots.Pair delta), 0 for none
	units    int64        // the units app holds, when app is not nil
	at       int64        // admission time, Unix ns: the slot a refund goes back to
	credits  int64        // what the admission and its settles charged (a Settle's Exceeds is of the whole)
	// reset is the last Decision.Reset built from a tenant's cached reset
	// instant, resetNs (Unix ns; 0 for none): a lease is pooled per P, and
	// its next admission, of the same tenant or of another whose window
	// resets at the same instant (tenants spending in one window slot),
	// copies it where time.Unix(...).In(...) cost 30-odd instructions.
	reset   time.Time
	resetNs int64
	// resetLoc is reset's location, now.Location() when it was built:
	// compared as is, where reset.Location() maps nil to UTC again at
	// every admission.
	resetLoc *time.Location
	// seek is set while Take's last lookup found another tenant than the
	// lease's: its key is then not compared first (see Take).
	seek bool
}

// Take implements store.Store. It takes no lock and does not allocate once
// the tenant and its application exist: a lookup, then lock-free slot and
// credit takes.
//
// Eviction safety: after its application slot is taken, Take checks the
// tenant's and the entry's dead flags; eviction sets the flag and then
// checks that nothing is held. Both sides write before they read (Go
// atomics are sequentially consistent), so at least one sees the other: the
// Take gives its slot back and starts over, or the eviction backs off.
func (s *Store) Take(now time.Time, req *store.Request, plans store.PlanFunc, lease *Lease, d *store.Decision) {
	// A lease keeps its tenant after Release, and a caller that reuses
	// leases (the limiter pools them per P) mostly asks for that tenant
	// again: its key is compared on the tenant's first line, with no hash
	// and no table probe. A tenant evicted since is dead (the admission
	// checks it again once it holds its slots, as after a lookup). A
	// caller whose calls go round many tenants would pay that compare and
	// then the lookup each time: once a lookup finds another tenant than
	// the lease's, seek skips the compare until one finds the lease's
	// again.
	t := lease.t
	if t != nil {
		if k := req.Tenant; lease.seek || lease.s != s || t.dead() ||
			!(inWords(k) && t.keyIs(k) || !inWords(k) && t.otherKey(k)) { // !t.hasKey(k)
			t = nil
		}
	}
	// Each turn admits at t, or finds t evicted meanwhile (continue) and
	// looks it up again.
	for ; ; t = nil {
		if t == nil {
			h := strhash.String(s.seed, req.Tenant) // shardOf's body: with its call, too big to inline
			sh := &s.shards[h>>(64-shardBits)]
			if t = sh.get(h, req.Tenant); t == nil || !t.touch() {
				if t = s.create(now, sh, h, req.Tenant, plans); t == nil {
					*d = store.Decision{Reason: store.ReasonTenants, Cost: max(req.Credits, 0), RetryAfter: s.tenantsRetryAfter(now)}
					return
				}
			}
			if seek := t != lease.t; seek != lease.seek {
				lease.seek = seek
			}
		}
		// The admission at t. (It was a function, admit: its call, and a
		// frame that spilled the arguments Take had just loaded, cost the
		// keyed admission 18 instructions.)
		//
		// Most tenants have one application and a lone rolling pool, and
		// most admissions are of their first application, one unit, and
		// first class or none: state says so, and such an admission reads
		// t's first line and writes its second, and reads no other (see
		// tenant). It is decided here with those as constants and no call
		// (but the slot cache's, for a store WithSlotCache), so that
		// nothing is spilled around one before the pool's take and little
		// is live across the takes; any other admission, and one whose
		// pool SetPlan is replacing, goes through admitAny and admitted,
		// which report false when t was evicted meanwhile.
		n := max(req.Credits, 0) // a negative cost would mint credits at Settle
		st := t.word.Load()
		which := slots.PairA
		if req.Class != "" {
			which |= slots.PairB
		}
		if st&(stFirst|stLone) != stFirst|stLone || !nameIs(t.name0, req.App) || req.Units > 1 ||
			which != slots.PairA && (st&stCls0 == 0 || !nameIs(t.cls0, req.Class)) {
			if s.admitAny(now, t, req, n, st, lease, d) {
				return
			}
			continue
		}
		if testHooks && classHook != nil {
			classHook()
		}
		var ok, refusedA bool
		if st&cachedBit != 0 { // WithSlotCache (the client Transport's store)
			ok, refusedA = t.slotCache().TryAcquire(&t.slots0, which)
		} else {
			ok, refusedA = t.slots0.TryAcquire(which)
		}
		if !ok {
			refusal(now, t, &t.w0, slotReason(refusedA), n, req, d)
			return
		}
		// stFirst, seen after first's slot was taken, says first is not dead
		// (addApp marks first dead and clears stFirst before it checks the
		// slots, and sets it again if it keeps first);
		// stCls0 likewise says cls0e was not dropped (setPlan clears it before
		// it checks cls0e's slots).
		if st := t.word.Load(); st&stDead != 0 || st&stFirst == 0 && t.first.dead.Load() ||
			which&slots.PairB != 0 && st&stCls0 == 0 { // PairB: the class is cls0e's
			releaseSlots(t, nil, nil, which, 1)
			continue
		}
		// The pool is called directly (a lone rolling window): a call through
		// the interface cannot be inlined or devirtualised.
		r := &t.roll
		ns := window.UnixNano(now) // computed once, for the take and the lease
		tk := r.TakeUnixNano(ns, n, req.Keep, false)
		reset := t.w0.reset.Load() // after the take: see takeAgain
		if reset == replacingReset && n > 0 && tk.Took != 0 {
			w, tk := takeAgain(t, &t.w0, now, n, req.Keep, false)
			if s.admitted(now, t, req, n, lease, d, st, w, nil, false, nil, nil, which, tk, w.reset.Load()) {
				return
			}
			continue
		}
		if n > 0 && tk.Took == 0 {
			refuse(now, t, &t.w0, nil, nil, which, store.ReasonCredits, n, req, d)
			return
		}
		// What follows is admitted's, with app and cls nil and the pool r.
		if s.touch > 0 && ns-t.lastUsed.Load() > s.touch {
			t.lastUsed.Store(ns)
		}
		if lease.s != s || lease.t != t || lease.app != nil || lease.cls != nil {
			lease.s, lease.t, lease.app, lease.cls = s, t, nil, nil
		}
		lease.which, lease.at, lease.credits = which, ns, n
		d.Allowed, d.Reason, d.Cost, d.Limit, d.RetryAfter = true, store.ReasonNone, n, r.Limit(), 0
		d.AddOns, d.Cap, d.Exceeds = 0, 0, 0
		if st&stAddOns != 0 {
			d.AddOns = t.plan.Load().AddOns
		}
		d.Remaining, d.Used, d.Window = tk.Remaining, tk.Spent, r.Length()
		if reset > max(ns, 0) && reset == lease.resetNs && lease.resetLoc == now.Location() {
			d.Reset = lease.reset // resetOf's usual answer, with no call
		} else {
			d.Reset = lease.resetOf(now, ns, reset, &t.w0)
		}
		return
	}
}

// admitAny is Take's admission of any kind: slotsAny takes the slots and names
// the pool, and admitted ends it.
func (s *Store) admitAny(now time.Time, t *tenant, req *store.Request, n int64, st uint32, lease *Lease, d *store.Decision) bool {
	e, ce, app, which, w, r, lone, ok := s.slotsAny(now, t, req, n, st, d)
	if e == nil {
		return ok
	}
	// stFirst: see Take.
	if st := t.word.Load(); st&stDead != 0 || (st&stFirst == 0 || e != &t.first) && e.dead.Load() ||
		which&slots.PairB != 0 && st&stCls0 == 0 { // PairB: the class is cls0e's
		releaseSlots(t, app, nil, which, unitsOf(req))
		return false
	}
	var cls *slots.Slots
	if ce != nil {
		cls = ce.ownSlots() // ce is set only with slots of its own
		if !cls.TryAcquire(1) {
			return refuse(now, t, w, app, nil, which, store.ReasonSubConcurrency, n, req, d)
		}
		if ce.dead.Load() { // dropped by a plan change since classEntry (see setPlan)
			releaseSlots(t, app, cls, which, unitsOf(req))
			return false
		}
	}
	var tk window.Take
	if !lone {
		tk = w.multi.all.TakeAt(now, n, req.Keep, false)
	} else {
		tk = r.TakeAt(now, n, req.Keep, false)
	}
	reset := w.reset.Load() // after the take: see takeAgain
	if reset == replacingReset && n > 0 && tk.Took != 0 {
		w, tk = takeAgain(t, w, now, n, req.Keep, false)
		reset, lone = w.reset.Load(), false
	}
	return s.admitted(now, t, req, n, lease, d, st, w, r, lone, app, cls, which, tk, reset)
}

// admitted ends an admission whose slots are held and whose pool (w, and r
// if lone, a lone rolling window) was taken from (tk, after which its
// cached reset instant read reset): refused for credits, or written into
// the lease and d.
func (s *Store) admitted(now time.Time, t *tenant, req *store.Request, n int64, lease *Lease, d *store.Decision,
	st uint32, w *windows, r *window.Rolling, lone bool, app, cls *slots.Slots, which uint64, tk window.Take, reset int64) bool {
	if n > 0 && tk.Took == 0 {
		return refuse(now, t, w, app, cls, which, store.ReasonCredits, n, req, d)
	}
	// One reading of now, as Take's, for the idle clock and the lease.
	ns := window.UnixNano(now)
	if s.touch > 0 && ns-t.lastUsed.Load() > s.touch { // idleness needs no finer grain,
		t.lastUsed.Store(ns) // and fewer writes keep the line shared between cores
	}
	var limit int64
	if lone {
		limit = r.Limit()
	} else {
		limit = w.pool().Limit()
	}
	// Field by field: a composite literal is built on the stack and then
	// copied, which showed in profiles.
	if lease.s != s || lease.t != t || lease.app != app || lease.cls != cls {
		// Only when they change: a lease is pooled per P and mostly serves
		// the same tenant again, and while the collector marks each pointer
		// written takes a write barrier (8 of a client call's 31 entries).
		lease.s, lease.t, lease.app, lease.cls = s, t, app, cls
	}
	lease.which, lease.at, lease.credits = which, ns, n
	if app != nil {
		lease.units = unitsOf(req)
	}
	d.Allowed, d.Reason, d.Cost, d.Limit, d.RetryAfter = true, store.ReasonNone, n, limit, 0
	// The plan's figures (store.Decision): an admission has no Cap nor
	// Exceeds, and the plan, on a line the common admission does not
	// read, is read only for its add-ons, which stAddOns says it has.
	d.AddOns, d.Cap, d.Exceeds = 0, 0, 0
	if st&stAddOns != 0 {
		d.AddOns = t.plan.Load().AddOns
	}
	d.Remaining, d.Used = tk.Remaining, tk.Spent
	if lone {
		d.Window = r.Length()
	} else {
		d.Window = w.length()
	}
	d.Reset = lease.resetOf(now, ns, reset, w)
	return true
}

// resetOf is an admission's Decision.Reset at now (ns, in Unix ns) from w's
// cached reset instant reset: built with no call while the instant holds,
// and copied from the lease's last one when that was the same instant in
// now's location; else walked (and cached) by w. Only an instant after
// 1970 is one: 0 (and the markers) mean nothing cached, which a now before
// 1970 is after (it walks, as resetAt's cached instants before 1970 do),
// and 0 is also the lease's "no instant kept".
func (lease *Lease) resetOf(now time.Time, ns, reset int64, w *windows) time.Time {
	if reset > max(ns, 0) {
		if loc := now.Location(); reset != lease.resetNs || lease.resetLoc != loc {
			lease.reset, lease.resetNs, lease.resetLoc = time.Unix(0, reset).In(loc), reset, loc
		}
		return lease.reset
	}
	return w.resetAt(now, reset)
}

// slotsAny is admitAny's start: it finds the entries of
// req's application (e) and class, takes their slots (app's own and the
// halves of slots0 that which names; the class's own slots, ce's, admitAny
// takes) and names the pool (w, and r if lone, a lone rolling pool); the
// application's take is req's units (see unitsOf). ce is
// the class's entry when it has slots of its own, nil if the class is
// uncapped or cls0e's. e is nil when the admission is over, with ok its result:
// refused (d filled) or t evicted meanwhile (false).
func (s *Store) slotsAny(now time.Time, t *tenant, req *store.Request, n int64, st uint32, d *store.Decision) (e, ce *semEntry, app *slots.Slots, which uint64, w *windows, r *window.Rolling, lone, ok bool) {
	if st&stFirst != 0 && nameIs(t.name0, req.App) {
		e = &t.first
	} else if e = t.app0.Load(); e == nil || *e.name != req.App {
		e = s.appEntry(t, req.App)
	}
	if e == nil { // the application table is full of busy applications
		return nil, nil, nil, 0, nil, nil, false, noApp(now, t, n, req, d)
	}
	// t's own pool is named from t. (Its limit is read after the slots'
	// add: on two cores the add's line is the pool's, and a read of it
	// first would fetch it twice.)
	w, r, lone = &t.w0, &t.roll, st&stLone != 0
	if !lone {
		if w = t.wins.Load(); w != &t.w0 {
			r = w.rolling
		}
		lone = w.multi == nil
	}
	var c *semEntry // the class's entry, nil if uncapped
	if st&stCls0 != 0 && nameIs(t.cls0, req.Class) {
		c = &t.cls0e
	} else {
		c = t.classEntry(req.Class)
	}
	if testHooks && classHook != nil {
		classHook()
	}
	var cls *slots.Slots
	units := unitsOf(req)
	// More than the cap or than MaxUnits, refused before any add: slots0
	// counts 32 bits a half, and takes of up to MaxConcurrency units each,
	// added before the cap is read and then taken back, wrapped it when a
	// few were in flight at once (a sound release panicked, a take was
	// admitted); at most MaxUnits each, a million in flight fit. A call of
	// one unit, the usual, reads no plan (a line of its own at 100,000
	// tenants): no cap is below one.
	if units > 1 && units > min(t.plan.Load().Concurrency, store.MaxUnits) {
		refusal(now, t, w, store.ReasonConcurrency, n, req, d)
		return nil, nil, nil, 0, nil, nil, false, true
	}
	app, cls, which = t.slotsOf(e, c, units)
	if cls != nil {
		ce = c
	}
	reason := store.ReasonNone
	if app != nil || which == 0 {
		reason = takeSlots(t, app, which, units)
	} else if ok, refusedA := t.tryPair(which); !ok { // through the slot cache if t has one
		reason = slotReason(refusedA)
	}
	if reason != store.ReasonNone {
		refusal(now, t, w, reason, n, req, d)
		return nil, nil, nil, 0, nil, nil, false, true
	}
	return e, ce, app, which, w, r, lone, true
}

// classHook, when set (tests built with -tags creditgate_testhooks), runs
// in Take and slotsAny once the class's entry is found, before its slots are taken.
var classHook func()

// noApp is admitAny's refusal when t's application table is full of busy
// applications; false if t was evicted meanwhile.
func noApp(now time.Time, t *tenant, n int64, req *store.Request, d *store.Decision) bool {
	if t.dead() {
		return false
	}
	refusal(now, t, t.wins.Load(), store.ReasonConcurrency, n, req, d)
	return true
}

// refuse gives back the slots an admission of req at t took (app's, cls's
// and the delta which of t.slots0), fills d with a refusal for reason and
// reports true (admitAny's "decided").
func refuse(now time.Time, t *tenant, w *windows, app, cls *slots.Slots, which uint64, reason store.Reason, n int64, req *store.Request, d *store.Decision) bool {
	releaseSlots(t, app, cls, which, unitsOf(req))
	refusal(now, t, w, reason, n, req, d)
	return true
}

// unitsOf is what req takes of its application's concurrency cap: its
// Units, at least 1.
func unitsOf(req *store.Request) int64 { return max(req.Units, 1) }

// appEntry returns app's entry, added if need be; nil if the table is full
// of busy applications.
func (s *Store) appEntry(t *tenant, app string) *semEntry {
	if e := t.findApp(app); e != nil {
		return e
	}
	return s.addApp(t, app)
}

// classEntry returns the entry of a capped class, nil for an uncapped one.
func (t *tenant) classEntry(class string) *semEntry {
	if class == "" {
		return nil
	}
	if c := &t.cls0e; c.name != nil && *c.name == class && !c.dead.Load() {
		return c
	}
	return t.findClass(class)
}

// slotsOf says where the slots of application entry e and class entry c
// (nil: uncapped) are: the first application's and first class's are the
// halves of slots0, taken in one add (which, with units of A); other
// entries have their own.
func (t *tenant) slotsOf(e, c *semEntry, units int64) (app, cls *slots.Slots, which uint64) {
	if e == &t.first {
		which = uint64(units) * slots.PairA
	} else {
		app = e.sem()
	}
	if c == &t.cls0e {
		which |= slots.PairB
	} else if c != nil {
		cls = c.sem()
	}
	return app, cls, which
}

// takeSlots takes units of the application's own slots and the delta which
// of slots0, all or nothing, and says which cap refused.
func takeSlots(t *tenant, app *slots.Slots, which uint64, units int64) store.Reason {
	if app != nil && !app.TryAcquire(units) {
		return store.ReasonConcurrency
	}
	if which != 0 {
		if ok, refusedA := t.tryPair(which); !ok {
			releaseSlots(t, app, nil, 0, units)
			return slotReason(refusedA)
		}
	}
	return store.ReasonNone
}

// slotReason names the cap that refused a take of slots0's halves.
func slotReason(refusedA bool) store.Reason {
	if refusedA {
		return store.ReasonConcurrency
	}
	return store.ReasonSubConcurrency
}

// releaseSlots gives back what an admission of t took: units of app's
// slots, one of cls's (either may be nil) and the delta which of t.slots0.
func releaseSlots(t *tenant, app, cls *slots.Slots, which uint64, units int64) {
	if cls != nil {
		cls.Release(1)
	}
	if which != 0 {
		if c := t.cache(); c != nil {
			c.Release(&t.slots0, which)
		} else {
			t.slots0.Release(which) // inline: the common case
		}
	}
	if app != nil {
		app.Release(units)
	}
}

// refusal fills d for req, of n credits, refused for reason at t, whose
// windows are w.
func refusal(now time.Time, t *tenant, w *windows, reason store.Reason, n int64, req *store.Request, d *store.Decision) {
	refusalKeep(now, t, w, reason, n, req.Keep, req.Class, d)
}

// refusalKeep is refusal of n credits keeping keep, of class.
func refusalKeep(now time.Time, t *tenant, w *windows, reason store.Reason, n, keep int64, class string, d *store.Decision) {
	all, pool := w.all(), w.pool()
	*d = store.Decision{Reason: reason, Cost: n, Limit: pool.Limit(), Window: w.length(),
		Remaining: all.RemainingAt(now), Used: spent(now, pool),
		Reset: all.ResetAt(now), RetryAfter: store.ConcurrencyRetryAfter}
	d.PlanFigures(t.plan.Load(), class)
	if reason == store.ReasonCredits {
		d.RetryAfter = retryAfter(now, all, n+max(keep, 0), w.length())
	}
}

// spent is what pool counts spent at now: not its limit less what remains,
// which reads the limit when a lowered one (SetPlan) left more spent.
func spent(now time.Time, pool window.Window) int64 {
	return pool.TakeAt(now, 0, 0, false).Spent
}

// retryAfter is how long until n credits are back in w if nothing else is
// spent; never (more than the pool, or past 2262) counts as one window
// length.
func retryAfter(now time.Time, w window.Window, n int64, length time.Duration) time.Duration {
	if at, err := w.AvailableAt(now, max(n, 1)); err == nil {
		if at.Before(now) && window.UnixNano(now) != now.UnixNano() {
			// Past 2262 the windows read now as 2262 (window.UnixNano)
			// and what is spent never comes back: 0 would say retry at
			// once. (Only there: between the ends an instant before now
			// still means now, as it always did.)
			return length
		}
		return max(at.Sub(now), 0)
	}
	return length
}

// takeAgain takes n credits again, from the windows that replace w, after a
// take from w found w marked by SetPlan: SetPlan marks w before it copies
// w's spends into the new windows, so a take that does not see the mark was
// copied, and one that sees it may not have been. Taking again counts the
// call twice at worst (while a plan changes), never not at all.
func takeAgain(t *tenant, w *windows, now time.Time, n, keep int64, partial bool) (*windows, window.Take) {
	for {
		nw := replacement(t, w)
		tk := nw.all().TakeAt(now, n, keep, partial)
		if tk.Took == 0 || nw.reset.Load() != replacingReset {
			return nw, tk
		}
		w = nw // replaced again meanwhile
	}
}

// replacement waits for the windows that replace w (SetPlan publishes them
// once it has copied w's spends, holding t.mu: a short wait).
func replacement(t *tenant, w *windows) *windows {
	for {
		if nw := t.wins.Load(); nw != w {
			return nw
		}
		runtime.Gosched()
	}
}

// A call of store.MaxUnits units is a weight slots0 takes (a compile-time
// check: the array's length is negative if it is not).
var _ [slots.MaxPairWeight - store.MaxUnits]struct{}
