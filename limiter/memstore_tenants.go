package limiter

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/creditgate/creditgate/window"
)

// sweepBackoff is how long (in request time) a store full of busy tenants
// waits before scanning for evictable tenants again.
const sweepBackoff = int64(time.Second)

// initWindows builds p's windows into w (a tenant's w0, or a new one for a
// plan change), before w is published. The pool is set up in r if r is not
// nil (the tenant's inline one), else allocated.
func (s *MemoryStore) initWindows(w *windows, p *Plan, r *window.Rolling) error {
	if r == nil {
		r = new(window.Rolling)
	}
	if err := initRolling(r, p.Credits(), p.WindowLength(), s.slots); err != nil {
		return fmt.Errorf("limiter: plan %q: %w", p.Name, err)
	}
	w.rolling = r
	if len(p.Extra) == 0 {
		return nil
	}
	m := &multiWindows{each: []window.Window{r}, extra: slices.Clone(p.Extra)}
	for _, x := range p.Extra {
		e := new(window.Rolling)
		if err := initRolling(e, x.Credits, x.Window, s.slots); err != nil {
			return fmt.Errorf("limiter: plan %q: %w", p.Name, err)
		}
		m.each = append(m.each, e)
	}
	var err error
	if m.all, err = window.NewCompound(m.each...); err != nil {
		return fmt.Errorf("limiter: plan %q: %w", p.Name, err)
	}
	w.multi = m
	return nil
}

// classTable builds the class semaphores of a new tenant t: the first
// class's is t.slots0's B, the rest are allocated.
func (t *tenant) classTable(p *Plan) *semTable {
	tab := &semTable{}
	for i, c := range sortedKeys(p.SubConcurrency) {
		var e *semEntry
		if i == 0 {
			e = &t.cls0e
			e.name = c // before the tenant is published
			t.slots0.SetCapacityB(p.SubConcurrency[c])
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

func (s *MemoryStore) newTenant(key string, h uint64, p *Plan) (*tenant, error) {
	t := new(tenant)
	if s.runUsage.Load() != nil {
		t = &new(tenantWithRun).tenant
		t.hasRun = true
	}
	t.hash = h
	t.setKey(key)
	if err := s.initWindows(&t.w0, p, &t.roll); err != nil {
		return nil, err
	}
	t.plan.Store(p)
	t.wins.Store(&t.w0)
	t.apps.Store(&semTable{})
	t.classes.Store(t.classTable(p))
	return t, nil
}

// create adds a tenant, evicting idle ones if the store is full. ok is false
// when the store is full of busy tenants (or the plan cannot build a window).
// Concurrent creators may overshoot the bound by a few tenants.
func (s *MemoryStore) create(now time.Time, sh *memShard, h uint64, key string, planFor func(string) *Plan) (*tenant, bool) {
	if s.maxTenants > 0 && s.count.Load() >= s.maxTenants {
		ns := now.UnixNano()
		if ns >= s.noSweep.Load() && s.sweep(now) == 0 {
			s.noSweep.Store(ns + sweepBackoff)
		}
		if s.count.Load() >= s.maxTenants {
			return nil, false
		}
	}
	gen := s.plans.Load()
	t, err := s.newTenant(key, h, planFor(key))
	if err != nil {
		return nil, false
	}
	t.lastUsed.Store(now.UnixNano())
	cur, added := sh.insert(t)
	if added {
		s.count.Add(1)
	}
	// A SetPlan that began after planFor was asked may have found no tenant
	// to change (the Limiter stores its plan before it calls SetPlan): give
	// the tenant its plan again, until no SetPlan began meanwhile. Cheap
	// when nothing changed, and rare: it takes a SetPlan during a creation.
	for g := s.plans.Load(); g != gen; g = s.plans.Load() {
		gen = g
		_ = s.setPlan(now, cur, planFor(key)) // planFor's plans are valid, and made windows before
	}
	return cur, true
}

// evictable: nothing in flight, every window full, idle long enough.
func (s *MemoryStore) evictable(now time.Time, t *tenant) bool {
	if now.UnixNano()-t.lastUsed.Load() < s.idleAfter {
		return false
	}
	for _, tab := range []*semTable{t.apps.Load(), t.classes.Load()} {
		for _, e := range tab.entries {
			if t.held(e) != 0 {
				return false
			}
		}
	}
	w := t.wins.Load()
	if w.rolling.RemainingAt(now) < w.rolling.Limit() {
		return false
	}
	if w.multi != nil {
		for _, x := range w.multi.each {
			if x.RemainingAt(now) < x.Limit() {
				return false
			}
		}
	}
	return true
}

// kill marks t dead if it is evictable, re-checking after the mark so that a
// concurrent Take either sees the mark or is seen holding a slot (see Take).
func (s *MemoryStore) kill(now time.Time, t *tenant) bool {
	if !s.evictable(now, t) {
		return false
	}
	t.dead.Store(true)
	if s.evictable(now, t) {
		if u := s.runUsage.Load(); u != nil {
			t.flushRun(u) // nothing can add to it now: a Take that comes sees dead
		}
		return true
	}
	t.dead.Store(false)
	return false
}

// sweep evicts every evictable tenant and returns how many went.
func (s *MemoryStore) sweep(now time.Time) int {
	n := 0
	for i := range s.shards {
		n += s.shards[i].sweep(func(t *tenant) bool { return s.kill(now, t) })
	}
	s.count.Add(int64(-n))
	s.evicted.Add(int64(n))
	return n
}

// Sweep evicts every idle tenant now (see MemoryStore) and returns how many.
func (s *MemoryStore) Sweep(now time.Time) int { return s.sweep(now) }

// addApp adds an entry for app. When the table is full it drops idle
// entries first (with the same mark-then-check protocol as tenants); nil means
// the table is full of busy applications.
func (s *MemoryStore) addApp(t *tenant, app string) *semEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	tab := t.apps.Load()
	if e := tab.find(app); e != nil {
		return e
	}
	next := &semTable{entries: slices.Clip(tab.entries)}
	if len(tab.entries) >= s.maxApps {
		next.entries = nil
		for _, e := range tab.entries {
			e.dead.Store(true)
			if t.held(e) == 0 {
				continue // dropped
			}
			e.dead.Store(false)
			next.entries = append(next.entries, e)
		}
		if len(next.entries) >= s.maxApps {
			return nil
		}
	}
	var e *semEntry
	if !t.usedFirst {
		t.usedFirst = true
		e = &t.first
		e.name = strings.Clone(app) // before publication below
		t.slots0.SetCapacityA(t.plan.Load().Concurrency)
	} else {
		e = newSemEntry(strings.Clone(app), t.plan.Load().Concurrency)
	}
	next.entries = append(next.entries, e)
	t.apps.Store(next)
	if a0 := t.app0.Load(); a0 == nil || a0.dead.Load() {
		t.app0.Store(next.entries[0])
	}
	return e
}

// SetPlan implements Store: the pool's limit and the semaphores' capacities
// change in place, so spent credits and held slots carry over. A new window
// length or new extra windows cannot be changed in place: the tenant gets new
// windows, each charged with what the old ones had spent, when it was spent
// (see carry). Admissions that race with the replacement are counted (see
// retake).
func (s *MemoryStore) SetPlan(now time.Time, key string, p *Plan) error {
	s.plans.Add(1) // before the lookup: see create
	sh, h := s.shard(key)
	t := sh.get(h, key)
	if t == nil {
		return nil
	}
	return s.setPlan(now, t, p)
}

func (s *MemoryStore) setPlan(now time.Time, t *tenant, p *Plan) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.wins.Load()
	if w.length() == p.WindowLength() && slices.Equal(w.extra(), p.Extra) {
		if err := w.rolling.SetLimit(p.Credits()); err != nil {
			return fmt.Errorf("limiter: plan %q: %w", p.Name, err)
		}
	} else {
		nw := new(windows)
		if err := s.initWindows(nw, p, nil); err != nil {
			return err
		}
		w.reset.Store(replacingReset) // before reading what w spent: see retake
		carry(now, w, nw)
		t.wins.Store(nw)
	}
	for _, e := range t.apps.Load().entries {
		t.setCapacity(e, p.Concurrency)
	}
	old := t.classes.Load()
	next := &semTable{}
	for _, c := range sortedKeys(p.SubConcurrency) {
		var e *semEntry
		if e = old.find(c); e != nil {
			t.setCapacity(e, p.SubConcurrency[c])
		}
		if e == nil {
			e = newSemEntry(c, p.SubConcurrency[c])
		}
		next.entries = append(next.entries, e)
	}
	// A class the new plan drops keeps no semaphore: its held slots are
	// released on the old one, which Release finds no more and skips. If it
	// is cls0e's, admissions must stop finding it through cls0e; cls0e never
	// comes back (a class added again later gets a new entry).
	t.classes.Store(next)
	if t.cls0e.name != "" && next.find(t.cls0e.name) != &t.cls0e { // a class is never "" (Validate)
		t.cls0e.dead.Store(true)
	}
	t.plan.Store(p)
	return nil
}

// carry charges each of the new windows nw with what the old windows w
// spent, at the end of the slot it was spent in, so that it comes back when
// it would have (to a slot's width), also in a window of another length. A
// new window takes the spends of the shortest old window at least as long
// (which saw all the history it needs), else of the longest (older spends
// are forgotten). Spends above the new limit stay spent, as SetLimit keeps
// them: the window is charged under the largest limit, then set to its own.
// nw is not yet published: nothing else takes from it.
func carry(now time.Time, w, nw *windows) {
	olds := w.list()
	for _, dst := range nw.list() {
		L := dst.(*window.Rolling).Length()
		var src *window.Rolling
		for _, o := range olds {
			o := o.(*window.Rolling)
			switch ol := o.Length(); {
			case src == nil,
				ol >= L && (src.Length() < L || ol < src.Length()),
				ol < L && src.Length() < L && ol > src.Length():
				src = o
			}
		}
		limit := dst.Limit()
		_ = dst.SetLimit(window.MaxLimit)
		for back, n := range src.Returns(now) {
			at := back.Add(-src.Length() - 1)
			if at.After(now) { // the current slot
				at = now
			}
			dst.ChargeAt(at, n)
		}
		_ = dst.SetLimit(limit)
	}
}

// held returns the slots held of entry e of t: its own Slots', or for the
// first application and the first class, their half of t.slots0.
func (t *tenant) held(e *semEntry) int64 {
	if e.sem != nil {
		return e.sem.Held()
	}
	a, b := t.slots0.Held()
	if e == &t.first {
		return a
	}
	return b
}

// setCapacity sets the capacity of entry e of t (see held).
func (t *tenant) setCapacity(e *semEntry, n int64) {
	switch {
	case e.sem != nil:
		e.sem.SetCapacity(n)
	case e == &t.first:
		t.slots0.SetCapacityA(n)
	default:
		t.slots0.SetCapacityB(n)
	}
}
