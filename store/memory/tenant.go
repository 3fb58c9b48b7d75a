package memory

import (
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/creditgate/creditgate/internal/slots"
	"github.com/creditgate/creditgate/internal/words"
	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/window"
)

// tenant is laid out by cache line (TestTenantLayout checks it), so that an
// admission of the common kind (the tenant's first application, its first
// capped class or none, a plan of one rolling pool) reads one line and
// writes one, and reads no other:
//   - line 0, read-mostly: what lookups compare (the hash's low half, the
//     key's length and first bytes), the state bits that say the admission
//     is of that kind, the first application's and class's names, and the
//     pool's head and past (written when a slot rolls over);
//   - line 1, written by every admission: the pool's limit, geometry and
//     current slot word, slots0 (the concurrency slots), lastUsed and the
//     cached reset instant; an admission first touches it with slots0's
//     add, which fetches it for writing;
//   - lines 2 and 3: what other admissions and slow paths read and write
//     (the other windows' fields, wins and app0, the entries, the key as a
//     string, the tables, plan, mu).
//
// At 100,000 tenants every line an admission touches is a cache miss (two,
// where there were four; TestTenantLayout). The object's size counts too,
// not only the lines touched (pages, TLB reach, what the prefetcher brings
// beside a line): padded to 384 bytes, touching the same two lines, keyed
// admissions at 100,000 tenants ran 7-17 % slower. The struct fills the
// 256-byte size class, whose objects lie at multiples of 256 in their span:
// hence the entries' names behind pointers, no slots pointer in first and
// cls0e (see semEntry), and no flag for first's use (its name says it).
type tenant struct {
	// hlo is the low half of the maphash of key, the half that picks the
	// home bucket; word keeps the seven bits of the bucket's tag (see
	// hash). Compared by lookups after the tag matched.
	hlo uint32
	// word packs what every lookup and admission reads beside the key:
	// the key's length (klenMask: at most maxKlen, a longer key counts as
	// maxKlen and hasKey then compares its whole length past kpre),
	// cachedBit if t is the tenant of a withCache, whose slot cache
	// keeps slots0's given back slots (WithSlotCache), the hash's tag bits,
	// and the state bits (stDead, stLone, stFirst, stCls0, stAddOns), which let an
	// admission of the common kind skip wins, app0, cls0e and their
	// targets (see Take). Only the state bits change once t is published.
	// A bit here, on the line every admission reads, and the cache at a
	// fixed offset: a pointer on slots0's line would be read before
	// slots0's add, and on two cores that read costs a transfer of the
	// line of its own.
	word atomic.Uint32
	// kpre is the key's first bytes, which is all of it for most keys;
	// then it is also key's storage (see setKey).
	kpre [24]byte
	// name0 is first.name, set before stFirst is, shared by the tenants
	// whose first application it names (see names.ref): one pointer on
	// line 0, and a string that stays in the cache.
	name0 *string
	// cls0 is cls0e.name, set before stCls0 is, shared like name0.
	cls0 *string
	// roll is w0's pool when it rolls, inline: an admission at 100,000
	// tenants misses on the tenant's own lines, not on a window behind more
	// pointers. Its head and past end line 0; its limit, geometry, ring
	// pointer and cur open line 1, which an admission first touches with
	// slots0's add (on two cores a read of it first would fetch it twice).
	roll window.Rolling
	// slots0 counts the first application's concurrency units (A) and
	// the first capped class's slots (B) in one word, taken with one
	// atomic add, on the pool's written line.
	slots0   slots.Pair
	lastUsed atomic.Int64 // the last admission's instant, window.UnixNano's reading
	w0       windows      // the windows the tenant was created with: reset ends line 1

	wins    atomic.Pointer[windows]  // &w0 until a plan change swaps windows
	app0    atomic.Pointer[semEntry] // the first app: most tenants have one
	classes atomic.Pointer[classTable]
	// first is the first app added (never reused once dropped); its slots
	// are slots0's A. Its name is nil until it is handed out (guarded by
	// mu: addApp).
	first semEntry
	// cls0e is slots0 B's entry, the first of the class table the tenant
	// was created with, found here without following the table. dead is set
	// while a plan change has dropped the class (one that caps it again
	// clears it: see setPlan).
	cls0e semEntry

	key  string
	apps atomic.Pointer[semTable]
	// plan is the tenant's plan: set with setPlan, which keeps stAddOns.
	plan atomic.Pointer[store.Plan]
	mu   sync.Mutex   // serialises app/class table and window changes
	pins atomic.Int32 // Charges in progress: a tenant with any is not folded
	cost uint32       // the bytes counted for t in Store.bytes (guarded by mu)
	// 256 bytes, no padding: tenantCost counts unsafe.Sizeof(*t) as the
	// object's size class (TestTenantCostCountsSizeClass).
}

// tenant.word's fields.
const (
	klenMask = 1<<16 - 1
	// maxKlen is the largest length word holds: a longer key counts as
	// maxKlen (its length never spills into the bits above).
	maxKlen = klenMask
	// cachedBit marks a tenant with a slot cache.
	cachedBit = 1 << 16
	tagPos    = 17 // the tag's seven bits (see hash)
	// stDead is set by eviction: a Take that sees it starts over.
	stDead = 1 << (24 + iota - 4)
	// stLone: wins is &w0, and w0 is a lone rolling pool (roll). Cleared
	// for good when a plan change swaps windows.
	stLone
	// stFirst: app0 is &first, first is not dead, and name0 is its name.
	// Cleared before first is marked dead (see addApp), so an admission
	// that sees it after taking first's slot need not read first.dead.
	stFirst
	// stCls0: cls0e is live (its class capped by the plan) and cls0 is its
	// name.
	stCls0
	// stAddOns: the plan has add-on credits. An admission of the common
	// kind reports the plan's AddOns (store.Decision) without reading the
	// plan, on a line of its own, unless it is set. Set with plan.
	stAddOns
)

// hash returns the bits of t's key's hash that its table uses: the home
// bucket's (the low 32) and the tag's.
func (t *tenant) hash() uint64 {
	return uint64(t.hlo) | uint64(t.word.Load()>>tagPos&0x7f)<<tagShift
}

// setHash keeps the bits of h that hash returns (before t is published).
func (t *tenant) setHash(h uint64) {
	t.hlo = uint32(h)
	t.word.Store(t.word.Load()&^(0x7f<<tagPos) | uint32(h>>tagShift&0x7f)<<tagPos)
}

// klen is the key's length as word holds it (see maxKlen).
func (t *tenant) klen() int { return int(t.word.Load() & klenMask) }

// dead reports whether t was evicted (folded).
func (t *tenant) dead() bool { return t.word.Load()&stDead != 0 }

// storePlan stores p as t's plan, and whether it has add-on credits in the
// state bits (see stAddOns). An admission racing with it reports either
// plan's add-ons: 0 for a bit clear, else those of the plan it loads.
func (t *tenant) storePlan(p *store.Plan) {
	t.setState(stAddOns, p.AddOns > 0)
	t.plan.Store(p)
}

// setState sets or clears state bits.
func (t *tenant) setState(bits uint32, on bool) {
	if on {
		t.word.Or(bits)
	} else {
		t.word.And(^bits)
	}
}

// setKey sets the key: t.key is a copy of key, in kpre if it fits (the
// store never keeps a caller's string, which may be a slice of a larger
// buffer), and kpre holds its first bytes.
func (t *tenant) setKey(key string) {
	t.word.Store(t.word.Load()&^klenMask | uint32(min(len(key), maxKlen))) // never cachedBit: see maxKlen
	n := copy(t.kpre[:], key)
	switch {
	case len(key) == 0:
		t.key = ""
	case n == len(key):
		t.key = unsafe.String(&t.kpre[0], n) // kpre is never written again
	default:
		t.key = strings.Clone(key)
	}
}

// is reports whether t's key is key, whose hash is h. A key that fits in
// kpre is compared there, on the line that holds the hash.
func (t *tenant) is(h uint64, key string) bool {
	return t.hlo == uint32(h) && t.hasKey(key)
}

// hasKey reports whether t's key is key. Hot paths (Take's lease check,
// the table's get) write it out: keyIs inlines, and hasKey does not.
func (t *tenant) hasKey(key string) bool {
	if inWords(key) {
		return t.keyIs(key)
	}
	return t.otherKey(key)
}

// inWords reports whether keyIs can compare key: 8 to 24 bytes, as most
// keys are, where unaligned loads are allowed (wordKeys).
func inWords(key string) bool { return wordKeys && uint(len(key))-8 <= 16 }

// keyIs is hasKey for a key inWords. It compares kpre with 8-byte words
// loaded inline, where == calls memequal, a call that spills what its
// caller holds in registers (a lookup at more than one tenant compares
// twice: the lease's tenant, then the table's). The words overlap rather
// than run past key's end, which may be a page's; kpre is 24 bytes, all
// readable.
func (t *tenant) keyIs(key string) bool {
	n := uint(len(key))
	k, p := unsafe.Pointer(unsafe.StringData(key)), unsafe.Pointer(&t.kpre)
	m := (n - 8) / 2 // the second word, which meets the other two
	// (^ and | bind alike, left to right: hence the parentheses.)
	x := (*(*uint64)(k) ^ *(*uint64)(p)) | (*(*uint64)(unsafe.Add(k, m)) ^ *(*uint64)(unsafe.Add(p, m))) |
		(*(*uint64)(unsafe.Add(k, n-8)) ^ *(*uint64)(unsafe.Add(p, n-8)))
	return x|(uint64(t.word.Load()&klenMask)^uint64(n)) == 0
}

// touch loads a word of t's line 1 and reports true: Take calls it on
// the tenant its lookup found, whose line 0 (hlo, the key) the lookup
// has just asked for, so that at 100,000 tenants the misses on t's two
// lines overlap. Otherwise line 1 is first asked for by slots0's locked
// add, dozens of instructions and a few branches on line 0's words
// later (more in KeyedFull, whose class is checked first), and the two
// misses can come one after the other. (In the probe loop of get it cost
// 13 instructions, in Take 5.)
// lastUsed.Load() != MinInt64 is always true: lastUsed holds 0 or a
// window.UnixNano reading, which clamps to 1677 (TestTouchIsTrue). A
// branch on it is predicted, so nothing waits for the load.
//
// Its result must be used, or the compiler drops the load.
func (t *tenant) touch() bool { return t.lastUsed.Load() != math.MinInt64 }

// nameIs reports whether *p, a name's one copy (names.ref), is name:
// Take's check of the first application's and class's names. A name of 8
// to 16 bytes is compared with two words loaded inline, which overlap
// rather than run past either string's end (as in keyIs), and an empty one
// with no load: == calls memequal, a call that spills what Take holds in
// registers (and the copy is never the caller's string, so memequal's
// pointer check does not spare it). Other lengths are compared with ==.
// words.Equal, which usage uses, also takes 4 to 7 bytes in 4-byte words:
// inlined into Take it costs the keyed admission 14 instructions more.
func nameIs(p *string, name string) bool {
	a := *p
	if len(a) != len(name) {
		return false
	}
	n := uint(len(name))
	x, y := unsafe.Pointer(unsafe.StringData(a)), unsafe.Pointer(unsafe.StringData(name))
	if wordKeys && n-8 <= 8 {
		return (*(*uint64)(x)^*(*uint64)(y))|(*(*uint64)(unsafe.Add(x, n-8))^*(*uint64)(unsafe.Add(y, n-8))) == 0
	}
	return n == 0 || a == name
}

// wordKeys says whether keyIs and nameIs may load words at any address.
const wordKeys = words.Unaligned

// otherKey is hasKey for any key, in place: kpre, then past it t.key.
func (t *tenant) otherKey(key string) bool {
	if t.klen() != min(len(key), maxKlen) {
		return false
	}
	n := min(len(key), len(t.kpre))
	if string(t.kpre[:n]) != key[:n] { // compared in place: no conversion
		return false
	}
	return n == len(key) || t.key[n:] == key[n:]
}

// windows is a tenant's pool, plus, for a calendar pool or a compound plan,
// the general form. What admissions read is kept to three words.
type windows struct {
	// reset caches the windows' ResetAt (Unix ns) for admissions: walking
	// a window's slots for it costs more than the rest of an admission.
	// While now is before it and credits were just spent, the oldest spent
	// slot cannot have returned. A refund, or a pool's limit set in place,
	// can move which window of a compound plan binds: they forget it
	// (forgetReset), leaving a forgotten marker. It holds replacingReset
	// from the moment SetPlan starts to replace these windows (see
	// takeAgain). 0 and the markers mean nothing cached: Take trusts only
	// an instant after 1970 and after now.
	reset   atomic.Int64
	multi   *multiWindows   // nil for a lone rolling pool
	rolling *window.Rolling // the pool if it rolls, else nil
	// forgets counts forgetReset's calls on these windows: each leaves in
	// reset a marker no admission can have loaded before it. Per windows,
	// not per process: refunds of different tenants share no line.
	forgets atomic.Uint64
}

// replacingReset, in windows.reset, marks windows that SetPlan replaces: no
// reset instant is that early, so resetAt never caches over it.
const replacingReset = math.MinInt64

// forgotten is the first of the markers forgetReset leaves in windows.reset
// (forgotten + windows.forgets' count, masked by forgottenMask): just above
// replacingReset, in the 4 days from 1677-09-21 00:12:43 UTC, the earliest
// instant a Unix ns holds: no reset instant and no now is among them, so
// Take's reset > ns walks, as for 0.
const (
	forgotten     = replacingReset + 1
	forgottenMask = 1<<48 - 1
)

// multiWindows is the general form: a calendar pool, or extra windows.
type multiWindows struct {
	pool  window.Window       // the first window
	all   window.Window       // the pool, or the compound of pool and extras
	each  []window.Window     // pool then extras
	specs []store.WindowLimit // the plan's windows, pool first
}

// pool is the window whose limit is the plan's Credits.
func (w *windows) pool() window.Window {
	if w.multi != nil {
		return w.multi.pool
	}
	return w.rolling
}

// all is the window every admission must pass.
func (w *windows) all() window.Window {
	if w.multi != nil {
		return w.multi.all
	}
	return w.rolling
}

// list returns the windows one by one: the pool, then the extra windows.
func (w *windows) list() []window.Window {
	if w.multi != nil {
		return w.multi.each
	}
	return []window.Window{w.rolling}
}

// length is the pool's window length (a calendar pool's period).
func (w *windows) length() time.Duration {
	if w.multi != nil {
		return w.multi.specs[0].Window
	}
	return w.rolling.Length()
}

// forgetReset drops the cached reset instant after a change other than a
// take (a refund, a pool's limit set in place): in a compound plan such a
// change can move which window binds, and the cached instant was the other
// window's, early or late. It leaves a marker no other forget has left, so
// that an admission that loaded the word before this and walked the windows
// before the change fails its swap (resetAt), whatever the word held: 0, a
// marker, or an instant another admission cached meanwhile. It would take
// 2^48 forgets of these windows between an admission's load and its swap
// for the marker it loaded to come back. A swap, so that SetPlan's mark
// stays. Not on admissions' path: a refund's and SetPlan's.
func (w *windows) forgetReset() {
	m := forgotten + int64(w.forgets.Add(1)&forgottenMask)
	for {
		c := w.reset.Load()
		if c == replacingReset || w.reset.CompareAndSwap(c, m) {
			return
		}
	}
}

// resetAt is the windows' ResetAt when c, w.reset as the admission loaded
// it after its take (the load that also tells it whether SetPlan marked
// w), is not after now: walked, and cached for the admissions after,
// unless a forget or another admission changed w.reset since c was loaded.
func (w *windows) resetAt(now time.Time, c int64) time.Time {
	r := w.all().ResetAt(now)
	if testHooks && resetHook != nil {
		resetHook()
	}
	if c != replacingReset { // a swap, not a store: the mark must stay
		w.reset.CompareAndSwap(c, r.UnixNano())
	}
	return r
}

// resetHook, when set (tests built with -tags creditgate_testhooks), runs
// in resetAt between the walk and the swap that caches its instant.
var resetHook func()

// semTable is copy-on-write: readers load it without a lock, writers
// replace it under tenant.mu. Few entries, so a linear scan beats a map.
type semTable struct {
	entries []*semEntry
}

// classTable is a tenant's class table: a semTable, and the entries of
// classes a plan dropped while calls held their slots, for a plan that
// caps them again (see setPlan); no admission finds those. A type of its
// own so that the application tables, one per tenant, stay 24 bytes.
type classTable struct {
	semTable
	dropped []*semEntry
}

// noClasses is the class table of a plan without capped classes.
var noClasses = &classTable{}

// findDropped returns the dropped entry of name, nil if none.
func (t *classTable) findDropped(name string) *semEntry {
	for _, e := range t.dropped {
		if *e.name == name {
			return e
		}
	}
	return nil
}

// noEntries is the empty table, shared: a tenant gets its own table with
// its first entry (most tenants have one application and no capped class).
var noEntries = &semTable{}

// firstOnly and cls0Only stand, shared, for the tables that hold only the
// tenant's own first entry (t.first; t.cls0e), as most tenants' do: a
// table of one entry costs 32 bytes (56 for a class table) per tenant,
// for an entry the tenant holds inline. Lookups compare the tenant's
// entry (findApp, findClass); the slow paths that change or list a table
// read it whole (appTable, classTab). Their entries are empty, so a walk
// of what a table holds in slots of its own (sem: busy, Held) and
// tenantCost skip the inline entry, as they should.
var (
	firstOnly = &semTable{}
	cls0Only  = &classTable{}
)

// findApp returns app's entry in t's application table, nil if none.
func (t *tenant) findApp(app string) *semEntry {
	return findIn(t.apps.Load(), firstOnly, &t.first, app)
}

// findClass returns class's entry in t's class table, nil if none.
func (t *tenant) findClass(class string) *semEntry {
	return findIn(&t.classes.Load().semTable, &cls0Only.semTable, &t.cls0e, class)
}

// findIn returns name's entry in tab, which stands for a table of own
// alone if it is only.
func findIn(tab, only *semTable, own *semEntry, name string) *semEntry {
	if tab != only {
		return tab.find(name)
	}
	if *own.name == name { // named: tab is only once own is in it
		return own
	}
	return nil
}

// appTable is t's application table, firstOnly spelt out (an allocation:
// for the slow paths that copy or walk it).
func (t *tenant) appTable() *semTable {
	if tab := t.apps.Load(); tab != firstOnly {
		return tab
	}
	return &semTable{entries: []*semEntry{&t.first}}
}

// classTab is t's class table, cls0Only spelt out (see appTable).
func (t *tenant) classTab() *classTable {
	if tab := t.classes.Load(); tab != cls0Only {
		return tab
	}
	return &classTable{semTable: semTable{entries: []*semEntry{&t.cls0e}}}
}

// storeApps publishes tab as t's application table, as firstOnly if it
// holds only t.first.
func (t *tenant) storeApps(tab *semTable) {
	if len(tab.entries) == 1 && tab.entries[0] == &t.first {
		tab = firstOnly
	}
	t.apps.Store(tab)
}

// storeClasses publishes tab as t's class table, as cls0Only if it holds
// only t.cls0e and no dropped entry.
func (t *tenant) storeClasses(tab *classTable) {
	if len(tab.entries) == 1 && tab.entries[0] == &t.cls0e && len(tab.dropped) == 0 {
		tab = cls0Only
	}
	t.classes.Store(tab)
}

// newSemTable returns a table to fill, a copy of entries with room for one
// more in the same allocation (a tenant's first application's table is one
// allocation, not two).
func newSemTable(entries []*semEntry) *semTable {
	if len(entries) == 0 {
		x := new(struct {
			t   semTable
			one [1]*semEntry
		})
		x.t.entries = x.one[:0]
		return &x.t
	}
	return &semTable{entries: slices.Clip(entries)}
}

// semEntry is one application's or class's slots: its own Slots (sem), or
// for a tenant's first application and first class (first, cls0e) a half of
// slots0. 16 bytes, so that the two in a tenant take one line between them.
type semEntry struct {
	// name is the name's copy: a tenant's first entries share their
	// tenant's name0 and cls0 (names.ref); an entry of its own points at
	// its ownEntry's n. nil only in an entry not handed out yet (first
	// before addApp, cls0e of a tenant created with no capped class), which
	// no table holds. Never changed once set.
	name *string
	dead atomic.Bool // an app's: set while it is dropped from a full table; cls0e's: its class was dropped
	// own says e is the first field of an ownEntry, which holds its slots
	// (sem); first and cls0e have none. Set before e is published.
	own bool
}

// ownEntry is an entry with slots of its own, allocated as one.
type ownEntry struct {
	e semEntry
	s slots.Slots
	n string // e.name's copy
}

func newSemEntry(name string, capacity int64) *semEntry {
	x := &ownEntry{e: semEntry{own: true}, n: name}
	x.e.name = &x.n
	x.s.SetCapacity(capacity)
	return &x.e
}

// sem returns e's own slots, nil for a tenant's first entries (slots0's
// halves).
func (e *semEntry) sem() *slots.Slots {
	if !e.own {
		return nil
	}
	return e.ownSlots()
}

// ownSlots is sem for an e known to be own: no test (admitAny's).
func (e *semEntry) ownSlots() *slots.Slots { return &(*ownEntry)(unsafe.Pointer(e)).s }

func (t *semTable) find(name string) *semEntry {
	for _, e := range t.entries {
		if *e.name == name {
			return e
		}
	}
	return nil
}

// withCache is a tenant with a slot cache (WithSlotCache), allocated as one.
// The tenant comes last, after lead: a withCache is an object of more
// than 512 bytes with pointers, which the allocator starts with an 8-byte
// header, so its fields start 8 bytes into a cache line. A tenant first
// started there, and each of the two lines an admission touches
// straddled two (TestCachedTenantAligned); after the cache and lead it
// starts on a line.
type withCache struct {
	c    slots.PairCache
	lead [64 - (unsafe.Sizeof(slots.PairCache{})+allocHeader)%64]byte
	t    tenant
}

// allocHeader is the header the allocator puts before an object of more
// than 512 bytes with pointers.
const allocHeader = 8

// cachedTenant is the tenant's offset in a withCache.
const cachedTenant = unsafe.Offsetof(withCache{}.t)

// withCacheExtra is what a withCache takes more than a tenant: it is 952
// bytes, in the 1,024-byte size class with its 8-byte header, and a tenant
// is in the 256-byte one.
const withCacheExtra = 1024 - 256

// newTenantObject allocates a tenant, with a slot cache if cached.
func newTenantObject(cached bool) *tenant {
	if !cached {
		return new(tenant)
	}
	x := new(withCache)
	x.t.word.Store(cachedBit)
	return &x.t
}

// cache returns t's slot cache, nil if it has none.
func (t *tenant) cache() *slots.PairCache {
	if !t.cached() {
		return nil
	}
	return t.slotCache()
}

// cached reports whether t has a slot cache: a bit of its word, which
// Release tests without building the cache's address as cache does.
func (t *tenant) cached() bool { return t.word.Load()&cachedBit != 0 }

// slotCache is t's slot cache, for a t whose word has cachedBit (Take has
// loaded it already): t is the field of a withCache at cachedTenant.
func (t *tenant) slotCache() *slots.PairCache {
	return &(*withCache)(unsafe.Add(unsafe.Pointer(t), -int(cachedTenant))).c
}

// tryPair takes the halves of slots0 that which names (see Pair.TryAcquire),
// through the cache if t has one.
func (t *tenant) tryPair(which uint64) (ok, refusedA bool) {
	if c := t.cache(); c != nil {
		return c.TryAcquire(&t.slots0, which)
	}
	return t.slots0.TryAcquire(which)
}

// pairHeld returns slots0's counts in use: held, less those cached (as
// Cached reads them, which slots moving between stripes meanwhile may skew
// either way: for Held, not for decisions).
func (t *tenant) pairHeld() (a, b int64) {
	a, b = t.slots0.Held()
	if c := t.cache(); c != nil {
		ca, cb := c.Cached()
		a, b = max(a-ca, 0), max(b-cb, 0)
	}
	return a, b
}

// setPairCapacity sets the capacity of slots0's A (a) or B half to n.
func (t *tenant) setPairCapacity(a bool, n int64) {
	if a {
		t.slots0.SetCapacityA(n)
	} else {
		t.slots0.SetCapacityB(n)
	}
	if c := t.cache(); c != nil {
		c.CapacityChanged(&t.slots0)
	}
}

// held returns the slots held of entry e of t, for addApp's drop check:
// for slots0's halves, the Pair's counts, cached slots included (addApp
// drains the cache first). Held less Cached would not do: Cached reads the
// stripes one by one, and counts twice a slot that moves from a stripe it
// read to one it has not (a take that backs off from the check's mark may
// give back on another stripe than it took from), so it could read an
// application with a call in flight idle.
func (t *tenant) held(e *semEntry) int64 {
	if sem := e.sem(); sem != nil {
		return sem.Held()
	}
	a, b := t.slots0.Held()
	if e == &t.first {
		return a
	}
	return b
}

// setCapacity sets the capacity of entry e of t.
func (t *tenant) setCapacity(e *semEntry, n int64) {
	if sem := e.sem(); sem != nil {
		sem.SetCapacity(n)
	} else {
		t.setPairCapacity(e == &t.first, n)
	}
}
