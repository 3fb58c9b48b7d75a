package memory

import (
	"sync"
	"sync/atomic"
)

// shard is one part of the tenant map: an open-addressing hash table
// (linear probing) whose slots are atomic (hash, pointer) pairs, so a
// lookup is a few plain loads and writes nothing shared. A read lock, even an
// uncontended one, is two atomic adds on a word every core's lookups share,
// which showed as the largest cost of an admission under RunParallel.
//
// Writers (insert, sweep) serialise on mu. A table is never resized in
// place: growing builds a new one and publishes it, so a reader probing an
// old table still sees a consistent (if stale) set; a stale reader either
// misses a tenant just added (and goes to insert, which finds it) or finds
// one just evicted (which Take detects by its dead flag). Deletions leave a
// tombstone so that probes run on past the deleted slot; rebuilding drops
// them. The table is at most 3/4 full (tombstones included), so every probe
// ends at an empty slot. Creation stays O(1) amortised, unlike the
// copy-on-write maps this replaced.
type shard struct {
	tab  atomic.Pointer[tenantTable]
	mu   sync.Mutex // serialises writers; readers take no lock
	used int        // slots holding a tenant or a tombstone (guarded by mu)
	live int        // slots holding a tenant (guarded by mu)
	// folded holds the idle tenants folded into their spending schedule
	// (see fold.go), by key; guarded by mu. A key is in the table or here,
	// never both: both move under mu.
	folded map[string]string
	_      [24]byte // keep neighbouring shards apart
}

type tenantTable struct {
	mask  uint64
	slots []tableSlot
}

// tableSlot is a tenant and its hash, which a probe compares before it
// follows the pointer: at 100,000 tenants every tenant a probe reads is a
// cache miss, and at the table's load a probe passes 0.3 to 1.5 colliding
// slots on average before it reaches its own. Writers store the hash
// before the tenant and readers load the tenant before the hash, so a reader
// that sees a tenant sees its hash, or a later one (a slot reused after a
// tombstone): get then checks the tenant's own hash, and a stale mismatch
// only makes it miss, as a stale table does.
type tableSlot struct {
	hash atomic.Uint64
	t    atomic.Pointer[tenant]
}

// set publishes t in the slot.
func (s *tableSlot) set(t *tenant) {
	s.hash.Store(t.hash)
	s.t.Store(t)
}

// tombstone marks a deleted slot. It is never returned by get.
var tombstone = &tenant{}

const minTableSize = 8

func newTenantTable(size int) *tenantTable {
	return &tenantTable{mask: uint64(size - 1), slots: make([]tableSlot, size)}
}

// get returns the tenant of key, whose hash is h, or nil.
func (sh *shard) get(h uint64, key string) *tenant {
	tab := sh.tab.Load()
	if tab == nil {
		return nil
	}
	for i := h & tab.mask; ; i = (i + 1) & tab.mask {
		s := &tab.slots[i]
		t := s.t.Load()
		if t == nil {
			return nil
		}
		if s.hash.Load() == h && t != tombstone && t.is(h, key) {
			return t
		}
	}
}

func (sh *shard) tenants() []*tenant {
	tab := sh.tab.Load()
	if tab == nil {
		return nil
	}
	var out []*tenant
	for i := range tab.slots {
		if t := tab.slots[i].t.Load(); t != nil && t != tombstone {
			out = append(out, t)
		}
	}
	return out
}

// insert adds t unless its key is present; it returns the tenant now in the
// table and whether it is t.
func (sh *shard) insert(t *tenant) (*tenant, bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.insertLocked(t)
}

// insertLocked is insert with mu held.
func (sh *shard) insertLocked(t *tenant) (*tenant, bool) {
	if cur := sh.get(t.hash, t.key); cur != nil {
		return cur, false
	}
	tab := sh.tab.Load()
	if tab == nil || (sh.used+1)*4 > len(tab.slots)*3 {
		tab = sh.rebuild(tab)
	}
	for i := t.hash & tab.mask; ; i = (i + 1) & tab.mask {
		cur := tab.slots[i].t.Load()
		if cur == nil || cur == tombstone {
			if cur == nil {
				sh.used++
			}
			sh.live++
			tab.slots[i].set(t)
			return t, true
		}
	}
}

// rebuild publishes a table without tombstones, at most half full with the
// live tenants and the one being added (so it grows again only after
// filling half as much again). Called with mu held. The table stays compact:
// at 100,000 tenants a lookup's first cache miss is its slot.
func (sh *shard) rebuild(old *tenantTable) *tenantTable {
	size := minTableSize
	for size < (sh.live+1)*2 {
		size *= 2
	}
	tab := newTenantTable(size)
	if old != nil {
		for i := range old.slots {
			t := old.slots[i].t.Load()
			if t == nil || t == tombstone {
				continue
			}
			j := t.hash & tab.mask
			for tab.slots[j].t.Load() != nil {
				j = (j + 1) & tab.mask
			}
			tab.slots[j].set(t)
		}
	}
	sh.used = sh.live
	sh.tab.Store(tab)
	return tab
}

// sweep removes the tenants kill accepts and returns how many went. Called
// with mu held.
func (sh *shard) sweep(kill func(*tenant) bool) int {
	tab := sh.tab.Load()
	if tab == nil {
		return 0
	}
	n := 0
	for i := range tab.slots {
		if t := tab.slots[i].t.Load(); t != nil && t != tombstone && kill(t) {
			tab.slots[i].t.Store(tombstone) // the hash stays: probes skip it by the pointer
			n++
		}
	}
	sh.live -= n
	if n > 0 && (sh.live+1)*8 < len(tab.slots) && len(tab.slots) > minTableSize {
		sh.rebuild(tab) // most went (folded): give the memory of their slots back
	}
	return n
}
