package memory

import (
	"fmt"
	"slices"
	"strings"
	"time"

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
	specs := append([]store.WindowLimit{p.Pool()}, p.Extra...)
	pool, rolling, err := s.newWindow(specs[0], r)
	if err != nil {
		return fmt.Errorf("memory: plan %q: %w", p.Name, err)
	}
	w.rolling = rolling
	if len(specs) == 1 && rolling != nil {
		return nil
	}
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
func (t *tenant) classTable(p *store.Plan) *semTable {
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

func (s *Store) newTenant(key string, h uint64, p *store.Plan) (*tenant, error) {
	t := new(tenant)
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

// create adds a tenant, evicting idle ones if the store is full; nil when
// the store is full of busy tenants (or the plan cannot build a window).
// Concurrent creators may overshoot the bound by a few tenants.
func (s *Store) create(now time.Time, sh *shard, h uint64, key string, plans store.PlanFunc) *tenant {
	if s.maxTenants > 0 && s.count.Load() >= s.maxTenants {
		ns := now.UnixNano()
		if ns >= s.noSweep.Load() && s.sweep(now) == 0 {
			s.noSweep.Store(ns + sweepBackoff)
		}
		if s.count.Load() >= s.maxTenants {
			return nil
		}
	}
	gen := s.plans.Load()
	t, err := s.newTenant(key, h, plans(key))
	if err != nil {
		return nil
	}
	t.lastUsed.Store(now.UnixNano())
	cur, added := sh.insert(t)
	if added {
		s.count.Add(1)
	}
	// A SetPlan that began after plans was asked may have found no tenant
	// to change (callers store their plan before they call SetPlan): give
	// the tenant its plan again, until no SetPlan began meanwhile. Cheap
	// when nothing changed, and rare: it takes a SetPlan during a creation.
	for g := s.plans.Load(); g != gen; g = s.plans.Load() {
		gen = g
		_ = s.setPlan(now, cur, plans(key)) // plans gives valid plans, which made windows before
	}
	return cur
}

// tenantsRetryAfter is the RetryAfter of a refusal for a full store.
func (s *Store) tenantsRetryAfter(time.Time) time.Duration { return store.ConcurrencyRetryAfter }

// evictable: nothing in flight, every window full, idle long enough.
func (s *Store) evictable(now time.Time, t *tenant) bool {
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
	for _, x := range t.wins.Load().list() {
		if x.RemainingAt(now) < x.Limit() {
			return false
		}
	}
	return true
}

// kill marks t dead if it is evictable, re-checking after the mark so that a
// concurrent Take either sees the mark or is seen holding a slot (see Take).
func (s *Store) kill(now time.Time, t *tenant) bool {
	if !s.evictable(now, t) {
		return false
	}
	t.dead.Store(true)
	if s.evictable(now, t) {
		return true
	}
	t.dead.Store(false)
	return false
}

// sweep evicts every evictable tenant and returns how many went.
func (s *Store) sweep(now time.Time) int {
	n := 0
	for i := range s.shards {
		n += s.shards[i].sweep(func(t *tenant) bool { return s.kill(now, t) })
	}
	s.count.Add(int64(-n))
	s.evicted.Add(int64(n))
	return n
}

// addApp adds an entry for app. When the table is full it drops idle
// entries first (with the same mark-then-check protocol as tenants); nil
// means the table is full of busy applications.
func (s *Store) addApp(t *tenant, app string) *semEntry {
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

// Held returns the concurrency and sub-concurrency slots that tenant's
// admissions hold now (one for each admission in flight, one more for each
// with a capped class): for tests, diagnostics and gauges.
func (s *Store) Held(tenant string) int64 {
	t := s.lookup(tenant)
	if t == nil {
		return 0
	}
	var n int64
	for _, tab := range []*semTable{t.apps.Load(), t.classes.Load()} {
		for _, e := range tab.entries {
			if e.sem != nil {
				n += e.sem.Held()
			}
		}
	}
	a, b := t.slots0.Held() // the first app's and the first class's, also a dropped class's
	return n + a + b
}
