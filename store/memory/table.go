package memory

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// shard is one part of the tenant map: an open-addressing hash table of
// one-cache-line buckets (linear probing over buckets), whose words are
// atomic, so a lookup is a few plain loads and writes nothing shared. A read
// lock, even an uncontended one, is two atomic adds on a word every core's
// lookups share, which showed as the largest cost of an admission under
// RunParallel.
//
// Writers (insert, sweep) serialise on mu. A table is never resized in
// place: growing builds a new one and publishes it, so a reader probing an
// old table still sees a consistent (if stale) set; a stale reader either
// misses a tenant just added (and goes to insert, which finds it) or finds
// one just evicted (which Take detects by its dead flag). Deletions leave a
// deleted tag so that probes run on past it; rebuilding drops them. At most
// 13/16 of the slots are used (deleted ones included), so every probe ends
// at a bucket with an empty slot. Creation stays O(1) amortised, unlike the
// copy-on-write maps this replaced.
type shard struct {
	tab  atomic.Pointer[tenantTable]
	mu   sync.Mutex // serialises writers; readers take no lock
	used int        // slots holding a tenant or a deleted tag (guarded by mu)
	live int        // slots holding a tenant (guarded by mu)
	// folded holds the idle tenants folded into their spending schedule
	// (see fold.go), by key; guarded by mu. A key is in the table or here,
	// never both: both move under mu.
	folded map[string]string
	_      [24]byte // keep neighbouring shards apart
}

// tenantTable is a shard's buckets. Its size is not a power of two: a
// hash's home bucket is its low 32 bits scaled to the bucket count, so the
// table is sized to its tenants (11 to 15 bytes a tenant between rebuilds,
// against 32 to 48 for the (hash, pointer) slots it replaced). At 100,000
// tenants a lookup's one sure cache miss is its bucket, and the benchmark's
// round-robin over them streams tenants through the cache between two
// visits of a bucket: the smaller the table, the more of it is still cached
// (an interleaved A/B of the compact floor with 320-byte tenants: 16-byte
// slots 92 ns, 8-byte slots 57 ns).
type tenantTable struct {
	buckets []bucket
}

// bucketSlots is the number of tenants in a bucket: seven pointers and a
// word of their tags fill one 64-byte line.
const bucketSlots = 7

// bucket holds up to seven tenants. Byte j < 7 of tags is slot j's tag:
// tagEmpty, tagDeleted, or tagLive with seven bits of the tenant's hash
// (bits the shard and the home bucket do not use). Byte 7 is always 0.
// A probe compares the seven tags at once (SWAR) and follows only the
// pointers whose tag matches: at the table's load, most lookups load one
// bucket and one tenant.
//
// What keeps lookups right is that a bucket's tags change in one store
// each and that no slot byte ever goes back to tagEmpty while the table is
// published (a lookup would stop there, short of a key further on), and
// that a reader checks each tenant it follows: nil, or the tenant's own
// hash and key. The order of the stores (a slot's pointer before its tag
// when a tenant is added, the tag before the pointer when one is deleted;
// readers load the tags first) only spares a reader that sees a live tag a
// nil pointer: a stale view makes a lookup miss, as a stale table does, and
// a miss goes to insert, which looks again under the lock.
type bucket struct {
	tags atomic.Uint64
	t    [bucketSlots]atomic.Pointer[tenant]
}

const (
	tagEmpty   = 0x00
	tagDeleted = 0x01
	tagLive    = 0x80

	lowBytes   = 0x0001010101010101 // 1 in each slot's byte
	highBits   = 0x0080808080808080 // the top bit of each slot's byte
	tagShift   = 64 - shardBits - 7 // the seven hash bits below the shard's
	minBuckets = 1                  // buckets in the smallest table
)

// tagOf is h's live tag.
func tagOf(h uint64) uint64 { return tagLive | h>>tagShift&0x7f }

// zeroBytes has the top bit set in (at least) the slot bytes of x that are
// zero; exact as to whether there is one. A byte above a zero byte may be
// flagged too, which costs a lookup one wasted tenant compare, never a
// wrong answer.
func zeroBytes(x uint64) uint64 { return (x - lowBytes) &^ x & highBits }

// home is h's first bucket.
func (tab *tenantTable) home(h uint64) uint64 { return uint64(uint32(h)) * tab.size() >> 32 }

// size is the number of buckets.
func (tab *tenantTable) size() uint64 { return uint64(len(tab.buckets)) }

// capacity is the table's slot count.
func (tab *tenantTable) capacity() int { return len(tab.buckets) * bucketSlots }

func newTenantTable(buckets int) *tenantTable {
	return &tenantTable{buckets: make([]bucket, buckets)}
}

// get returns the tenant of key, whose hash is h, or nil.
//
// For a key inWords (most keys) it is a function that calls none, so
// that nothing is spilled around a call: getAny, the general lookup, may
// call memequal, and its register pressure cost a keyed admission at
// 100,000 tenants 20-odd instructions. The two probe alike.
func (sh *shard) get(h uint64, key string) *tenant {
	if !inWords(key) {
		return sh.getAny(h, key)
	}
	tab := sh.tab.Load()
	if tab == nil {
		return nil
	}
	want := tagOf(h) * lowBytes
	for i := tab.home(h); ; {
		b := &tab.buckets[i]
		tags := b.tags.Load()
		for m := zeroBytes(tags ^ want); m != 0; m &= m - 1 {
			if t := b.t[bits.TrailingZeros64(m)>>3].Load(); t != nil && t.hlo == uint32(h) && t.keyIs(key) {
				return t
			}
		}
		if zeroBytes(tags) != 0 {
			return nil
		}
		if i++; i == tab.size() {
			i = 0
		}
	}
}

// getAny is get for any key.
func (sh *shard) getAny(h uint64, key string) *tenant {
	tab := sh.tab.Load()
	if tab == nil {
		return nil
	}
	want := tagOf(h) * lowBytes
	for i := tab.home(h); ; {
		b := &tab.buckets[i]
		tags := b.tags.Load()
		for m := zeroBytes(tags ^ want); m != 0; m &= m - 1 {
			if t := b.t[bits.TrailingZeros64(m)>>3].Load(); t != nil && t.hlo == uint32(h) && t.hasKey(key) {
				return t
			}
		}
		if zeroBytes(tags) != 0 { // an empty slot: the key was never further on
			return nil
		}
		if i++; i == tab.size() {
			i = 0
		}
	}
}

// each calls f with every tenant in tab.
func (tab *tenantTable) each(f func(t *tenant)) {
	for i := range tab.buckets {
		b := &tab.buckets[i]
		for m := b.tags.Load() & highBits; m != 0; m &= m - 1 {
			if t := b.t[bits.TrailingZeros64(m)>>3].Load(); t != nil {
				f(t)
			}
		}
	}
}

func (sh *shard) tenants() []*tenant {
	tab := sh.tab.Load()
	if tab == nil {
		return nil
	}
	var out []*tenant
	tab.each(func(t *tenant) { out = append(out, t) })
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
	if cur := sh.get(t.hash(), t.key); cur != nil {
		return cur, false
	}
	tab := sh.tab.Load()
	if tab == nil || (sh.used+1)*16 > tab.capacity()*13 {
		tab = sh.rebuild(tab)
	}
	if tab.put(t) {
		sh.used++
	}
	sh.live++
	return t, true
}

// put stores t in the first slot of its probe that holds no tenant (called
// with the shard's mu held, or before tab is published) and reports whether
// that slot was empty rather than deleted.
func (tab *tenantTable) put(t *tenant) bool {
	for i := tab.home(t.hash()); ; {
		b := &tab.buckets[i]
		tags := b.tags.Load()
		if free := ^tags & highBits; free != 0 {
			j := bits.TrailingZeros64(free) &^ 7
			b.t[j>>3].Store(t)
			b.tags.Store(tags&^(0xff<<j) | tagOf(t.hash())<<j)
			return tags>>j&0xff == tagEmpty
		}
		if i++; i == tab.size() {
			i = 0
		}
	}
}

// rebuild publishes a table without deleted slots, 5/8 full with the live
// tenants and the one being added (so it grows again after a third as many
// more). Called with mu held.
func (sh *shard) rebuild(old *tenantTable) *tenantTable {
	tab := newTenantTable(max(minBuckets, ((sh.live+1)*8/5+bucketSlots-1)/bucketSlots))
	if old != nil {
		old.each(func(t *tenant) { tab.put(t) })
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
	for i := range tab.buckets {
		b := &tab.buckets[i]
		tags := b.tags.Load()
		var gone uint64 // the top bit of each slot byte to delete
		for m := tags & highBits; m != 0; m &= m - 1 {
			j := bits.TrailingZeros64(m) >> 3
			if t := b.t[j].Load(); t != nil && kill(t) {
				gone |= tagLive << (8 * j)
			}
		}
		if gone == 0 {
			continue
		}
		// Each deleted slot's byte becomes tagDeleted: its top bit's byte
		// is cleared, then its low bit set. Tags first, then the pointers.
		mask := (gone >> 7) * 0xff
		b.tags.Store(tags&^mask | gone>>7)
		for m := gone; m != 0; m &= m - 1 {
			b.t[bits.TrailingZeros64(m)>>3].Store(nil)
			n++
		}
	}
	sh.live -= n
	if n > 0 && (sh.live+1)*8 < tab.capacity() && len(tab.buckets) > minBuckets {
		sh.rebuild(tab) // most went (folded): give the memory of their slots back
	}
	return n
}
