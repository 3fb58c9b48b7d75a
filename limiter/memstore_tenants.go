package limiter

import (
	"fmt"
	"slices"
	"time"

	"github.com/creditgate/creditgate/semaphore"
)

// sweepBackoff is how long (in request time) a store full of busy tenants
// waits before scanning for evictable tenants again.
const sweepBackoff = int64(time.Second)

func (s *MemoryStore) newWindows(p *Plan) (*windows, error) {
	w := &windows{length: p.WindowLength(), extra: slices.Clone(p.Extra)}
	r, err := newRolling(p.Credits(), w.length, s.slots)
	if err != nil {
		return nil, fmt.Errorf("limiter: plan %q: %w", p.Name, err)
	}
	w.rolling, w.all, w.each = r, r, []creditWindow{r}
	for _, x := range p.Extra {
		e, err := newRolling(x.Credits, x.Window, s.slots)
		if err != nil {
			return nil, fmt.Errorf("limiter: plan %q: %w", p.Name, err)
		}
		w.each = append(w.each, e)
	}
	if len(w.each) > 1 {
		if w.all, err = newCompound(w.each...); err != nil {
			return nil, fmt.Errorf("limiter: plan %q: %w", p.Name, err)
		}
	}
	return w, nil
}

func classTable(p *Plan) *semTable {
	t := &semTable{}
	for _, c := range sortedKeys(p.SubConcurrency) {
		t.entries = append(t.entries, newSemEntry(c, p.SubConcurrency[c]))
	}
	return t
}

func sortedKeys(m map[string]int64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func (s *MemoryStore) newTenant(key string, p *Plan) (*tenant, error) {
	w, err := s.newWindows(p)
	if err != nil {
		return nil, err
	}
	t := &tenant{key: key}
	t.plan.Store(p)
	t.wins.Store(w)
	t.apps.Store(&semTable{})
	t.classes.Store(classTable(p))
	return t, nil
}

// create adds a tenant, evicting idle ones if the store is full. ok is false
// when the store is full of busy tenants (or the plan cannot build a window).
func (s *MemoryStore) create(now time.Time, sh *memShard, key string, planFor func(string) *Plan) (*tenant, bool) {
	if s.maxTenants > 0 && s.count.Load() >= s.maxTenants {
		ns := now.UnixNano()
		if ns >= s.noSweep.Load() && s.sweep(now) == 0 {
			s.noSweep.Store(ns + sweepBackoff)
		}
		if s.count.Load() >= s.maxTenants {
			return nil, false
		}
	}
	t, err := s.newTenant(key, planFor(key))
	if err != nil {
		return nil, false
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old := sh.m[key]; old != nil {
		return old, true
	}
	t.lastUsed.Store(now.UnixNano())
	sh.m[key] = t
	s.count.Add(1)
	return t, true
}

// evictable: nothing in flight, every window full, idle long enough. Called
// with the tenant's shard write-locked, so no Take is inside it.
func (s *MemoryStore) evictable(now time.Time, t *tenant) bool {
	if now.UnixNano()-t.lastUsed.Load() < s.idleAfter {
		return false
	}
	for _, tab := range []*semTable{t.apps.Load(), t.classes.Load()} {
		for _, e := range tab.entries {
			if e.sem.Held() != 0 {
				return false
			}
		}
	}
	for _, w := range t.wins.Load().each {
		if w.RemainingAt(now) < w.Limit() {
			return false
		}
	}
	return true
}

// sweep evicts every evictable tenant and returns how many went.
func (s *MemoryStore) sweep(now time.Time) int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for k, t := range sh.m {
			if s.evictable(now, t) {
				delete(sh.m, k)
				n++
			}
		}
		sh.mu.Unlock()
	}
	s.count.Add(int64(-n))
	s.evicted.Add(int64(n))
	return n
}

// Sweep evicts every idle tenant now (see MemoryStore) and returns how many.
func (s *MemoryStore) Sweep(now time.Time) int { return s.sweep(now) }

// addApp adds a semaphore for app. Called and returning with sh read-locked;
// when the app table is full it write-locks the shard to drop idle apps, so
// no Take can be about to use a dropped semaphore. nil: full of busy apps, or
// t was evicted meanwhile (the caller checks).
func (s *MemoryStore) addApp(sh *memShard, t *tenant, app string) *semaphore.Weighted {
	t.mu.Lock()
	tab := t.apps.Load()
	if sem := tab.find(app); sem != nil {
		t.mu.Unlock()
		return sem
	}
	if len(tab.entries) < s.maxApps {
		e := newSemEntry(app, t.plan.Load().Concurrency)
		t.apps.Store(&semTable{entries: append(slices.Clip(tab.entries), e)})
		t.app0.CompareAndSwap(nil, e)
		t.mu.Unlock()
		return &e.sem
	}
	t.mu.Unlock()
	sh.mu.RUnlock()
	sh.mu.Lock()
	t.mu.Lock()
	tab = t.apps.Load()
	sem := tab.find(app)
	if sh.m[t.key] != t {
		sem = nil // evicted while unlocked: the caller starts over
	} else if sem == nil {
		next := &semTable{}
		for _, e := range tab.entries {
			if e.sem.Held() != 0 {
				next.entries = append(next.entries, e)
			}
		}
		if len(next.entries) < s.maxApps {
			e := newSemEntry(app, t.plan.Load().Concurrency)
			next.entries = append(next.entries, e)
			sem = &e.sem
		}
		t.apps.Store(next)
		var first *semEntry
		if len(next.entries) > 0 {
			first = next.entries[0]
		}
		t.app0.Store(first) // no Take is running: the shard is write-locked
	}
	t.mu.Unlock()
	sh.mu.Unlock()
	sh.mu.RLock()
	return sem
}

// SetPlan implements Store: the pool's limit and the semaphores' capacities
// change in place, so spent credits and held slots carry over. A new window
// length or new extra windows cannot be changed in place: the tenant gets new
// windows and is charged at now what its old pool had spent (conservative:
// those credits come back a full window later than they would have).
func (s *MemoryStore) SetPlan(now time.Time, key string, p *Plan) error {
	sh := s.shard(key)
	sh.mu.RLock()
	t := sh.m[key]
	sh.mu.RUnlock()
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.wins.Load()
	if w.length == p.WindowLength() && slices.Equal(w.extra, p.Extra) {
		if err := w.rolling.SetLimit(p.Credits()); err != nil {
			return fmt.Errorf("limiter: plan %q: %w", p.Name, err)
		}
	} else {
		nw, err := s.newWindows(p)
		if err != nil {
			return err
		}
		if used := w.rolling.Limit() - w.rolling.RemainingAt(now); used > 0 {
			nw.all.ChargeAt(now, used)
		}
		t.wins.Store(nw)
	}
	for _, e := range t.apps.Load().entries {
		e.sem.SetCapacity(p.Concurrency)
	}
	old := t.classes.Load()
	next := &semTable{}
	for _, c := range sortedKeys(p.SubConcurrency) {
		var e *semEntry
		for _, o := range old.entries {
			if o.name == c {
				e = o
				e.sem.SetCapacity(p.SubConcurrency[c])
			}
		}
		if e == nil {
			e = newSemEntry(c, p.SubConcurrency[c])
		}
		next.entries = append(next.entries, e)
	}
	// A class the new plan drops keeps no semaphore: its held slots are
	// released on the old one, which Release finds no more and skips.
	t.classes.Store(next)
	t.plan.Store(p)
	return nil
}
