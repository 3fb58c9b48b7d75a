package memory

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/creditgate/creditgate/internal/layout"
	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/window"
)

// sweepBackoff is how long (in request time) a store full of busy tenants
// waits before scanning for evictable tenants again.
const sweepBackoff = int64(time.Second)

// initRolling sets up a tenant's inline pool (see layout).
func initRolling(r *window.Rolling, limit int64, length time.Duration, slots int) error {
	return layout.InitRolling.(func(*window.Rolling, int64, time.Duration, int) error)(r, limit, length, slots)
}

// newWindow builds the window x describes; r, if not nil, is where a
// rolling one is set up in place.
func (s *Store) newWindow(x store.WindowLimit, r *window.Rolling) (window.Window, *window.Rolling, error) {
	if x.Calendar != nil {
		f, err := window.NewFixed(x.Credits, x.Window, x.Calendar.Reset, x.Calendar.Location)
		return f, nil, err
	}
	if r == nil {
		r = new(window.Rolling)
	}
	if err := initRolling(r, x.Credits, x.Window, s.slots); err != nil {
		return nil, nil, err
	}
	return r, r, nil
}

// initWindows builds p's windows into w (a tenant's w0, or a new one for a
// plan change), before w is published. A rolling pool is set up in r if r
// is not nil (the tenant's inline one).
func (s *Store) initWindows(w *windows, p *store.Plan, r *window.Rolling) error {
	if len(p.Extra) >= MaxWindows {
		return fmt.Errorf("memory: plan %q: %d windows, more than MaxWindows (%d)", p.Name, 1+len(p.Extra), MaxWindows)
	}
	pool, rolling, err := s.newWindow(p.Pool(), r)
	if err != nil {
		return fmt.Errorf("memory: plan %q: %w", p.Name, err)
	}
	w.rolling = rolling
	if len(p.Extra) == 0 && rolling != nil {
		return nil // a lone rolling pool: no specs kept, nothing allocated
	}
	specs := append([]store.WindowLimit{p.Pool()}, p.Extra...)
	m := &multiWindows{pool: pool, all: pool, each: []window.Window{pool}, specs: specs}
	for _, x := range p.Extra {
		e, _, err := s.newWindow(x, nil)
		if err != nil {
			return fmt.Errorf("memory: plan %q: %w", p.Name, err)
		}
		m.each = append(m.each, e)
	}
	if len(m.each) > 1 {
		if m.all, err = window.NewCompound(m.each...); err != nil {
			return fmt.Errorf("memory: plan %q: %w", p.Name, err)
		}
	}
	w.multi = m
	return nil
}

// classTable builds the class slots of a new tenant t: the first class's is
// t.slots0's B, the rest are allocated.
func (s *Store) classTable(t *tenant, p *store.Plan) *classTable {
	if len(p.SubConcurrency) == 0 {
		return noClasses
	}
	tab := &classTable{}
	for i, c := range sortedKeys(p.SubConcurrency) {
		var e *semEntry
		if i == 0 {
			e = &t.cls0e
			t.cls0 = s.names.ref(c) // before the tenant is published
			e.name = t.cls0
			t.setState(stCls0, true)
			t.setPairCapacity(false, p.SubConcurrency[c])
		} else {
			e = newSemEntry(c, p.SubConcurrency[c])
		}
		tab.entries = append(tab.entries, e)
	}
	return tab
}

func sortedKeys(m map[string]int64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func (s *Store) newTenant(key string, h uint64, p *store.Plan) (*tenant, error) {
	t := newTenantObject(s.cache)
	t.setHash(h)
	t.setKey(key)
	if err := s.initWindows(&t.w0, p, &t.roll); err != nil {
		return nil, err
	}
	t.storePlan(p)
	t.wins.Store(&t.w0)
	if t.w0.multi == nil {
		t.setState(stLone, true)
	}
	t.apps.Store(noEntries)
	t.storeClasses(s.classTable(t, p))
	t.cost = tenantCost(t)
	return t, nil
}

// recost counts t's bytes again after its tables or windows changed. Called
// with t.mu held, once t is in the table.
func (s *Store) recost(t *tenant) {
	c := tenantCost(t)
	s.bytes.Add(int64(c) - int64(t.cost))
	t.cost = c
}

// create adds a tenant, rebuilt from its folded record if it has one; nil
// when the store is full and no room can be made (or the plan cannot build
// a window, or the key is longer than MaxKeyBytes). Concurrent creators may
// overshoot WithMaxTenants by a few tenants; WithMaxBytes by one at most
// (see reserve).
func (s *Store) create(now time.Time, sh *shard, h uint64, key string, plans store.PlanFunc) *tenant {
	if len(key) > MaxKeyBytes || !s.makeRoom(now) {
		return nil
	}
	if testHooks && createHook != nil {
		createHook()
	}
	gen := s.plans.Load()
	t, err := s.newTenant(key, h, plans(key)) // outside the lock: plans is the caller's code
	if err != nil {
		return nil
	}
	cost := int64(t.cost) // before publication: addApp changes it under t.mu
	for !s.reserve(cost) {
		if !s.makeRoom(now) {
			return nil
		}
	}
	t.lastUsed.Store(window.UnixNano(now)) // as admissions write it (see Take)
	sh.mu.Lock()
	if cur := sh.get(h, key); cur != nil {
		sh.mu.Unlock()
		s.bytes.Add(-cost)
		return cur
	}
	if rec, ok := sh.folded[key]; ok {
		unfold(now, t.wins.Load(), rec) // before publication: nothing else takes from t
		// Charged under MaxLimit, its rolling windows may have made ring
		// tiers its plan's limit would not (see RingBytes): count them.
		c := tenantCost(t)
		s.bytes.Add(int64(c) - int64(t.cost))
		t.cost = c
		delete(sh.folded, key)
		s.folded.Add(-1)
		s.bytes.Add(-recordCost(key, rec))
	}
	sh.insertLocked(t)
	sh.mu.Unlock()
	s.count.Add(1)
	// A SetPlan that began after plans was asked may have found no tenant
	// to change (callers store their plan before they call SetPlan): give
	// the tenant its plan again, until no SetPlan began meanwhile.
	s.replan(now, t, key, plans, gen)
	return t
}

// replan gives t, made with plans' plan for key when s.plans read gen and
// then published, its plan again until no SetPlan began meanwhile: one
// that began before t was in the table found nothing to change. Cheap when
// nothing changed, and rare: it takes a SetPlan during a creation or a
// restore.
func (s *Store) replan(now time.Time, t *tenant, key string, plans store.PlanFunc, gen uint64) {
	for g := s.plans.Load(); g != gen; g = s.plans.Load() {
		gen = g
		_ = s.setPlan(now, t, plans(key)) // plans gives valid plans, which made windows before
	}
}

// reserve counts n bytes of a new tenant if the store's bytes are below
// WithMaxBytes, in one step: creators that each found room (makeRoom) then
// get in only while it is still there, so the store passes its bound by
// one tenant at most, and its own snapshot restores (see RestoreAt).
// Counted after the tenant was in the table, as before, every creator
// between the check and the count got in.
func (s *Store) reserve(n int64) bool {
	for b := s.bytes.Load(); b < s.maxBytes; b = s.bytes.Load() {
		if s.bytes.CompareAndSwap(b, b+n) {
			return true
		}
	}
	return false
}

// full reports whether a new tenant would take the store past a bound.
func (s *Store) full() bool {
	return (s.maxTenants > 0 && s.count.Load() >= s.maxTenants) || s.bytes.Load() >= s.maxBytes
}

// makeRoom sweeps a full store, at most once per sweepBackoff of request
// time when sweeping finds nothing (so that a store of busy tenants does not
// scan itself on every call), and reports whether there is room.
func (s *Store) makeRoom(now time.Time) bool {
	if !s.full() {
		return true
	}
	if testHooks && roomHook != nil {
		roomHook()
	}
	if ns := window.UnixNano(now); ns >= s.noSweep.Load() { // the windows' reading, as sweep's
		// One sweep at a time, and the store checked again once this
		// creator's turn comes: a sweep just after another creator's finds
		// nothing idle because that one folded it all, and would hold
		// every sweep off for sweepBackoff while new tenants turn idle.
		s.sweeping.Lock()
		if s.full() && ns >= s.noSweep.Load() && s.sweep(now) == 0 {
			s.noSweep.Store(addNs(ns, sweepBackoff))
		}
		s.sweeping.Unlock()
	}
	return !s.full()
}

// roomHook, when set (tests built with -tags creditgate_testhooks), runs in
// makeRoom between its check that the store is full and its sweep.
var roomHook func()

// createHook, when set (likewise), runs in create once makeRoom found room,
// before the new tenant's bytes are counted.
var createHook func()

// tenantsRetryAfter is the RetryAfter of a refusal for a full store: until
// the room the last sweep saw coming, at least a second.
func (s *Store) tenantsRetryAfter(now time.Time) time.Duration {
	// nextRoom is a reading of sweep's kind; Sub saturates where a
	// difference of two readings at either end of time would wrap.
	return max(time.Unix(0, s.nextRoom.Load()).Sub(windowsNow(now)), time.Second)
}

// sweep folds every idle tenant and drops every expired record; it returns
// how many tenants and records went, and notes when more room comes.
func (s *Store) sweep(now time.Time) int {
	// Records' instants are the windows' (Unix ns); now is read as they
	// read it (window.UnixNano), and so are the instants a tenant may be
	// idle (fold) and nextRoom: time's UnixNano wraps before 1678 (1600
	// reads as 2184), where a sweep dropped records whose credits were
	// still out, and mixed with the windows' readings it made a full
	// store's refusal say "retry in 292 years".
	ns := window.UnixNano(now)
	next := int64(math.MaxInt64) // when room comes: the earliest expiry or idle tenant seen
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for key, rec := range sh.folded {
			if until := foldUntil(rec); until <= ns {
				delete(sh.folded, key)
				s.folded.Add(-1)
				s.bytes.Add(-recordCost(key, rec))
				n++
			} else {
				next = min(next, until)
			}
		}
		gone := sh.sweep(func(t *tenant) bool {
			ok, at := s.fold(now, sh, t)
			if !ok {
				next = min(next, at)
			}
			return ok
		})
		sh.mu.Unlock()
		s.count.Add(int64(-gone))
		s.evicted.Add(int64(gone))
		n += gone
	}
	if next == math.MaxInt64 {
		next = addNs(ns, sweepBackoff) // an empty store: no room is coming, try again later
	}
	s.nextRoom.Store(next)
	return n
}

// windowsNow is now as the windows read it (window.UnixNano): before 1678
// and after 2262 time's own UnixNano wraps, and the windows' instants (the
// returns they report, records' expiries) are readings of this kind.
func windowsNow(now time.Time) time.Time { return time.Unix(0, window.UnixNano(now)) }

// addNs is ns + d for d >= 0, at most the largest int64: the windows'
// reading of an instant past 2262 is less than a second below it.
func addNs(ns, d int64) int64 {
	if ns > math.MaxInt64-d {
		return math.MaxInt64
	}
	return ns + d
}

// fold folds t if it is idle: it marks t dead, re-checking after the mark
// that nothing is held (a Take either sees the mark or is seen holding a
// slot), and keeps its record, if any credits are out, in sh. Called with
// sh.mu held. When t is busy, at is when it may be idle.
func (s *Store) fold(now time.Time, sh *shard, t *tenant) (ok bool, at int64) {
	// lastUsed is window.UnixNano's reading (clamped to 1677-2262, as
	// admissions write it): idleness is measured in that reading, and so
	// is the instant t may be idle (see sweep).
	ns := window.UnixNano(now)
	if idle := addNs(t.lastUsed.Load(), s.idleAfter); idle > ns {
		return false, idle
	}
	t.mu.Lock() // no plan change meanwhile
	defer t.mu.Unlock()
	if s.busy(t) {
		return false, addNs(ns, int64(store.ConcurrencyRetryAfter))
	}
	t.setState(stDead, true)
	if s.busy(t) {
		t.setState(stDead, false)
		return false, addNs(ns, int64(store.ConcurrencyRetryAfter))
	}
	delta := -int64(t.cost)
	if rec, ok := encodeFold(now, t.wins.Load()); ok {
		if sh.folded == nil {
			sh.folded = map[string]string{}
		}
		sh.folded[strings.Clone(t.key)] = rec // t.key may live in t's own bytes, which must go
		s.folded.Add(1)
		delta += recordCost(t.key, rec)
	}
	// One step: between two, a creator could see the bytes without the
	// record and get in past the bound (see reserve).
	s.bytes.Add(delta)
	return true, 0
}

// busy reports whether t has slots held or a Charge in progress.
func (s *Store) busy(t *tenant) bool {
	if t.pins.Load() != 0 {
		return true
	}
	if c := t.cache(); c != nil {
		c.Drain(&t.slots0) // cached slots are no call's: folding t may drop them
	}
	a, b := t.slots0.Held()
	if a != 0 || b != 0 {
		return true
	}
	for _, tab := range []*semTable{t.apps.Load(), &t.classes.Load().semTable} {
		for _, e := range tab.entries {
			if sem := e.sem(); sem != nil && sem.Held() != 0 {
				return true
			}
		}
	}
	return false
}

// recordCost is what a folded record counts against WithMaxBytes.
func recordCost(key string, rec string) int64 { return int64(len(key) + len(rec) + foldBytes) }

// tenantCost estimates what an active tenant costs: the tenant, its
// windows' slot rings, its slot entries beyond the first of each kind, and
// a key too long for the tenant's own bytes.
func tenantCost(t *tenant) uint32 {
	n := int(unsafe.Sizeof(*t)) + 64*(len(t.apps.Load().entries)+len(t.classes.Load().entries))
	if t.cache() != nil {
		n += withCacheExtra
	}
	if len(t.key) > len(t.kpre) {
		n += len(t.key)
	}
	for i, x := range t.wins.Load().list() {
		switch w := x.(type) {
		case *window.Rolling:
			// The ring (272 B in the 288-byte size class for 96 slots),
			// with its 32-bit and 64-bit tiers where the limit may make
			// them: a slot of more than 4,095 credits, then 2^23-1
			// (2^13-1 for the 64-bit tier at the most slots).
			n += w.RingBytes()
			if i > 0 || w != &t.roll {
				n += 128
			}
		default:
			n += 128
		}
	}
	return uint32(min(int64(n), 1<<31))
}

// addApp adds an entry for app. When the table is full it drops idle
// entries first (with the same mark-then-check protocol as tenants); nil
// means the table is full of busy applications.
func (s *Store) addApp(t *tenant, app string) *semEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dead() { // folded since Take's lookup: its bytes are no longer counted
		return nil
	}
	tab := t.appTable()
	if e := tab.find(app); e != nil {
		return e
	}
	next := newSemTable(tab.entries)
	if len(tab.entries) >= s.maxApps {
		if c := t.cache(); c != nil {
			c.Drain(&t.slots0) // cached slots are no call's (see held)
		}
		next.entries = nil
		for _, e := range tab.entries {
			e.dead.Store(true)
			first := e == &t.first && t.word.Load()&stFirst != 0
			if first {
				t.setState(stFirst, false) // before held: see stFirst
			}
			if t.held(e) == 0 {
				continue // dropped
			}
			e.dead.Store(false)
			if first {
				t.setState(stFirst, true)
			}
			next.entries = append(next.entries, e)
		}
		if len(next.entries) >= s.maxApps {
			return nil
		}
	}
	var e *semEntry
	if t.first.name == nil { // first not handed out yet
		e = &t.first
		t.name0 = s.names.ref(app) // before publication below
		e.name = t.name0
		t.setPairCapacity(true, t.plan.Load().Concurrency)
	} else {
		e = newSemEntry(s.names.of(app), t.plan.Load().Concurrency)
	}
	next.entries = append(next.entries, e)
	t.storeApps(next)
	if a0 := t.app0.Load(); a0 == nil || a0.dead.Load() {
		t.app0.Store(next.entries[0])
		if next.entries[0] == &t.first {
			t.setState(stFirst, true) // after name0: admissions compare it
		}
	}
	s.recost(t)
	return e
}

// Held returns the concurrency and sub-concurrency slots that tenant's
// admissions hold now (each admission in flight its units of its
// application's cap, store.Request.Units, and one more if its class is
// capped): for tests, diagnostics and gauges.
func (s *Store) Held(tenant string) int64 {
	t := s.lookup(tenant)
	if t == nil {
		return 0
	}
	var n int64
	for _, tab := range []*semTable{t.apps.Load(), &t.classes.Load().semTable} {
		for _, e := range tab.entries {
			if sem := e.sem(); sem != nil {
				n += sem.Held()
			}
		}
	}
	a, b := t.pairHeld() // the first app's and the first class's, also a dropped class's
	return n + a + b
}
