package limiter

import (
	"hash/maphash"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/creditgate/creditgate/semaphore"
	"github.com/creditgate/creditgate/window"
)

const (
	shardBits = 8
	numShards = 1 << shardBits
)

// DefaultMaxApps bounds the applications one tenant keeps slots for.
const DefaultMaxApps = 64

// MemoryStore is the in-memory Store: tenants in a sharded map, each holding
// its rolling window (plus extra windows for a compound plan), one semaphore
// per application and one per capped API class.
//
// It is bounded: with WithMaxTenants a new tenant that would exceed the bound
// first evicts idle tenants (nothing in flight, a full pool, unused for at
// least the idle time); evicting them loses nothing, as a re-created tenant
// starts exactly where it was. If every tenant is busy the request is refused
// with ReasonTenants, and evictions are not retried for a second of request
// time, so a full store of busy tenants does not scan itself on every call.
//
// A lookup takes no lock (see memShard), and neither does the admission
// (see Take for how eviction stays safe). A Release needs none either, since
// a tenant with slots held is never evicted.
type MemoryStore struct {
	shards     [numShards]memShard
	seed       maphash.Seed
	count      atomic.Int64 // tenants held
	maxTenants int64        // 0 = unbounded
	maxApps    int
	idleAfter  int64 // ns
	// touch is how stale a tenant's lastUsed may get: idleAfter/8, at
	// least a millisecond, or 0 (never written) without an idle time,
	// since then nothing reads it. A lastUsed late by that much lets a
	// tenant be evicted that much early, which loses nothing (eviction
	// takes only tenants with nothing spent or held), while writing it on
	// every admission kept one more line per tenant dirty: at 100,000
	// tenants, a write-back per admission.
	touch    int64
	slots    int
	noSweep  atomic.Int64 // Unix ns before which a full store does not sweep again
	evicted  atomic.Int64
	runUsage atomic.Pointer[Usage] // the statistics tenants keep runs for (see usageRun)
	plans    atomic.Uint64         // SetPlan calls begun (see create)
}

// tenant is laid out by cache line, so that an admission writes one line and
// reads three more, and a lookup of a key of up to 24 bytes reads one. Line 0
// holds what lookups compare and admissions read and nobody writes but
// eviction (hash, dead flag, the key's length and first bytes, the windows
// the tenant was created with); line 1 what admissions read and rarely write
// (the current windows, lastUsed, at most once per MemoryStore.touch, and
// the first application's entry); line 2 the pool's read-mostly line; line
// 3 the one every admission and release writes: the pool's current slot
// word followed by the first application's and the first class's slots
// (see roll), the usage run's lock and counters, and (written only by slow
// paths) the plan and the mutex. Under
// RunParallel on one tenant, reading anything from the written line cost a
// cache-line transfer each, and two written lines cost two. Line 4 holds
// the first class's entry and what only writers and slow paths touch (the
// key as a string, the application table); lines 5 and 6 (of a
// tenantWithRun only) the usage run's keys.
// The struct fills the 320-byte size class, whose objects are 64-byte
// aligned, so these really are lines (TestTenantLayout checks the offsets and
// the alignment). At 100,000 tenants every line is a cache miss: the lines
// are loaded from t directly, in parallel, rather than through pointers, and
// the compare of a key of up to 24 bytes stays on the line the hash check
// loaded instead of following the key's pointer to its bytes, a miss that
// could only start once the first had ended.
type tenant struct {
	hash uint64      // maphash of key: the shard and the table slot
	dead atomic.Bool // set by eviction: a Take that sees it starts over
	klen uint32      // len(key)
	// kpre is the key's first bytes, which is all of it for most keys
	// (tenant ids, addresses); then it is also key's storage (see setKey).
	kpre [24]byte
	w0   windows // the windows the tenant was created with

	wins     atomic.Pointer[windows]  // &w0 until a plan change swaps windows
	app0     atomic.Pointer[semEntry] // the first app: most tenants have one
	lastUsed atomic.Int64             // Unix ns of the last admission
	classes  atomic.Pointer[semTable]
	// first is the first app added (never reused once dropped); its
	// slots are slots0's A.
	first semEntry

	// roll is w0's pool, inline (lines 2 and the start of 3), so an
	// admission at 100,000 tenants misses on the tenant's own lines, not on
	// a window struct and a slot word behind two more pointers.
	roll window.Rolling
	// slots0 counts the first application's slots (A) and the first capped
	// API class's, of the plan the tenant was created with (B), in one
	// word: an admission of both takes them with one atomic add, and gives
	// them back with one. It shares the pool's written line
	// (window.FreeBytes): on two cores, an admission and its release then
	// move one line between them instead of one per semaphore.
	slots0 semaphore.Pair
	// runMu guards the usage run (its keys, in a tenantWithRun, and
	// runCredits and runCalls; see recordRun), whose counters share the
	// written line too: recording an admission then writes only the line
	// the admission wrote.
	runMu      atomic.Uint32
	hasRun     bool // t is a tenantWithRun's (set before publication)
	usedFirst  bool // first has been handed out (guarded by mu); in padding here, as alerts grew to a word
	runCredits int64
	runCalls   int64
	plan       atomic.Pointer[Plan]
	mu         sync.Mutex // serialises app/class table and window changes

	key    string
	apps   atomic.Pointer[semTable]
	alerts AlertState
	// cls0e is slots0 B's entry, the first of the class table the tenant was
	// created with. An admission of that class finds it here, on a line
	// loaded from t alongside the others, instead of through the class
	// table, its entry slice and a separate entry: at 100,000 tenants those
	// were three cache misses in a row. dead is set once a plan change
	// drops the class.
	cls0e semEntry
}

// tenantWithRun is a tenant of a store whose tenants keep usage runs (see
// usageRun): the run's keys follow the tenant, on its lines 5 and 6, and
// fill the 448-byte size class. Tenants of stores without statistics are
// plain tenants, in the 320-byte class, and do not carry 128 bytes they
// would never use.
type tenantWithRun struct {
	tenant
	run usageRun // guarded by tenant.runMu
	_   [24]byte // into the 448-byte size class: the 416-byte one is not 64-byte aligned
}

// run returns t's usage run, nil if t has none.
func (t *tenant) run() *usageRun {
	if !t.hasRun {
		return nil
	}
	// t is the first field of a tenantWithRun: its run is in the same object.
	return &(*tenantWithRun)(unsafe.Pointer(t)).run
}

// setKey sets the key: t.key is a copy of key, in kpre if it fits (the
// store never keeps a caller's string, which may be a slice of a larger
// buffer), and kpre holds its first bytes.
func (t *tenant) setKey(key string) {
	t.klen = uint32(len(key)) // a key of 4 GiB is not looked up
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
	if t.hash != h || int(t.klen) != len(key) {
		return false
	}
	n := min(len(key), len(t.kpre))
	if string(t.kpre[:n]) != key[:n] { // compared in place: no conversion
		return false
	}
	return n == len(key) || t.key[n:] == key[n:]
}

// windows is a tenant's pool, plus its extra windows for a compound plan.
// What admissions read is kept to three words (see tenant).
type windows struct {
	// reset caches all().ResetAt (Unix ns) for admissions: walking a window's
	// slots for it costs more than the rest of an admission. While now is
	// before it and credits were just spent, the oldest spent slot cannot
	// have returned; a refund that empties that slot can make the cached
	// value early, never late. It holds replacingReset from the moment
	// SetPlan starts to replace these windows (see retake).
	reset   atomic.Int64
	multi   *multiWindows   // nil unless the plan has extra windows
	rolling *window.Rolling // the pool (t.roll for w0: admissions name it from t)
}

// replacingReset, in windows.reset, marks windows that SetPlan replaces: no
// reset instant is that early, so resetAt never caches over it.
const replacingReset = math.MinInt64

type multiWindows struct {
	all   window.Window   // the compound of rolling and extras
	each  []window.Window // rolling then extras (for eviction)
	extra []WindowLimit
}

// all is the window every admission must pass: the pool, or the compound.
func (w *windows) all() window.Window {
	if w.multi != nil {
		return w.multi.all
	}
	return w.rolling
}

func (w *windows) extra() []WindowLimit {
	if w.multi != nil {
		return w.multi.extra
	}
	return nil
}

func (w *windows) length() time.Duration { return w.rolling.Length() }

// tryTake takes n credits and reports what remains after the call. It calls
// the pool directly when it is the only window (r is w.rolling, passed so
// that the caller can name the tenant's inline pool without a load): a call
// through the interface cannot be inlined or devirtualised, and TryTakeAt
// knows the remainder from the loads it took anyway.
func (w *windows) tryTake(r *window.Rolling, now time.Time, n int64) (bool, int64) {
	if w.multi != nil {
		ok, _ := w.multi.all.TryAcquireAt(now, n)
		return ok, w.multi.all.RemainingAt(now)
	}
	t := r.TakeAt(now, n, 0, false)
	return t.Took != 0, t.Remaining
}

func (w *windows) remaining(now time.Time) int64 {
	if w.multi != nil {
		return w.multi.all.RemainingAt(now)
	}
	return w.rolling.RemainingAt(now)
}

// resetAt takes now also as Unix ns, which the admission has already
// computed, and c, w.reset as the admission loaded it after its take (the
// load that also tells it whether SetPlan marked w).
func (w *windows) resetAt(now time.Time, ns, c int64) time.Time {
	if c > ns {
		return time.Unix(0, c).In(now.Location())
	}
	r := w.all().ResetAt(now)
	if c != replacingReset { // a swap, not a store: the mark must stay
		w.reset.CompareAndSwap(c, r.UnixNano())
	}
	return r
}

// list returns the windows one by one: the pool, then the extra windows.
func (w *windows) list() []window.Window {
	if w.multi != nil {
		return w.multi.each
	}
	return []window.Window{w.rolling}
}

// semTable is copy-on-write: readers load it without a lock, writers replace
// it under tenant.mu. Few entries, so a linear scan beats a map.
type semTable struct {
	entries []*semEntry
}

// semEntry is one application's or class's semaphore. Its semaphore is
// allocated with it (newSemEntry) or, for a tenant's first application and
// first class (sem nil), is a half of the tenant's slots0 (see
// tenant.held).
type semEntry struct {
	name string
	dead atomic.Bool // an app's: set while it is being dropped from a full table; cls0e's: its class was dropped
	sem  *semaphore.Slots
}

func newSemEntry(name string, capacity int64) *semEntry {
	x := &struct {
		e semEntry
		s semaphore.Slots
	}{e: semEntry{name: name}}
	x.e.sem = &x.s
	x.s.SetCapacity(capacity)
	return &x.e
}

func (t *semTable) find(name string) *semEntry {
	for _, e := range t.entries {
		if e.name == name {
			return e
		}
	}
	return nil
}

// StoreOption configures a MemoryStore.
type StoreOption interface{ applyStore(*MemoryStore) }

type storeOption func(*MemoryStore)

func (f storeOption) applyStore(s *MemoryStore) { f(s) }

// StoreMaxTenants bounds the tenants held (0 = unbounded).
func StoreMaxTenants(n int) StoreOption {
	return storeOption(func(s *MemoryStore) { s.maxTenants = int64(max(n, 0)) })
}

// StoreIdleAfter is how long a tenant must be unused before eviction (default 0:
// a full pool with nothing in flight is enough).
func StoreIdleAfter(d time.Duration) StoreOption {
	return storeOption(func(s *MemoryStore) { s.idleAfter = int64(max(d, 0)) })
}

// StoreSlots sets the slot count of each tenant's rolling window (0 = window's default).
func StoreSlots(n int) StoreOption { return storeOption(func(s *MemoryStore) { s.slots = max(n, 0) }) }

// StoreMaxApps bounds the applications per tenant (default DefaultMaxApps).
func StoreMaxApps(n int) StoreOption {
	return storeOption(func(s *MemoryStore) {
		if n > 0 {
			s.maxApps = n
		}
	})
}

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore(opts ...StoreOption) *MemoryStore {
	s := &MemoryStore{seed: maphash.MakeSeed(), maxApps: DefaultMaxApps}
	for _, o := range opts {
		o.applyStore(s)
	}
	if s.idleAfter > 0 {
		s.touch = max(s.idleAfter/8, int64(time.Millisecond))
	}
	return s
}

// shard returns key's shard and hash: the top bits pick the shard, the low
// bits the table slot, so one hash serves both.
func (s *MemoryStore) shard(key string) (*memShard, uint64) {
	h := maphash.String(s.seed, key)
	return &s.shards[h>>(64-shardBits)], h
}

// Len returns the number of tenants held.
func (s *MemoryStore) Len() int { return int(s.count.Load()) }

// Evicted returns how many tenants eviction has removed so far.
func (s *MemoryStore) Evicted() int64 { return s.evicted.Load() }

// Take implements Store. It does not allocate once the tenant and app exist;
// it takes no lock (the lookup neither, see memShard): three lock-free acquires.
//
// Eviction safety (see sweep): after its application slot is taken, Take
// checks the tenant's and the entry's dead flags; eviction sets the flag and
// then checks that nothing is held. Both sides write before they read (Go
// atomics are sequentially consistent), so at least one sees the other: the
// Take gives its slot back and starts over, or the eviction backs off.
func (s *MemoryStore) Take(now time.Time, req Request, planFor func(string) *Plan, lease *Lease) Decision {
	var ml memLease
	var d Decision
	seen := s.take(now, &req, planFor, &ml, &d, true)
	if d.Allowed {
		class := ""
		if ml.cls != nil || ml.which&semaphore.PairB != 0 {
			class = req.Class
		}
		*lease = Lease{Tenant: ml.t.key, App: req.App, Class: class, Credits: ml.credits, At: ml.at,
			Limit: ml.limit, Alerts: &ml.t.alerts, Ref: ml.t, appSem: ml.app, classSem: ml.cls, which: ml.which,
			alertsSeen: seen}
	}
	return d
}

// memLease is the in-memory store's own lease, which a Limiter's tickets hold
// instead of a Lease: half the size and half the pointers (each pointer
// written into the pooled ticket costs a write-barrier check), and filling a
// whole Lease per admission showed in profiles.
type memLease struct {
	t        *tenant
	app, cls *semaphore.Slots // cls nil when the class has no cap
	appName  string
	credits  int64 // reserved at admission
	at       int64 // admission time, Unix ns (the window slot to refund into)
	limit    int64
	hash     uint64 // the tenant key's hash
	which    uint64 // the halves of t.slots0 held (semaphore.PairA, PairB)
	inRun    bool   // the call was counted in t's usage run (see recordRun)
}

func (ml *memLease) release() { releaseSlots(ml.t, ml.app, ml.cls, ml.which) }

// releaseSlots gives back what an admission of t took: app's and cls's
// slots (either may be nil) and the halves of t.slots0 that which names.
func releaseSlots(t *tenant, app, cls *semaphore.Slots, which uint64) {
	if cls != nil {
		cls.Release(1)
	}
	if which != 0 {
		t.slots0.Release(which)
	}
	if app != nil {
		app.Release(1)
	}
}

// take is Take with the request by pointer and a memLease: the Limiter calls
// it directly, without copying the request or going through the Store interface.
// If alerts, it returns the tenant's alert word as it was before the pool was
// read (AlertState.seen), which orders the admission's alert check.
func (s *MemoryStore) take(now time.Time, req *Request, planFor func(string) *Plan, lease *memLease, d *Decision, alerts bool) (seen uint64) {
	sh, h := s.shard(req.Tenant)
	lease.hash = h // for the usage recorder's shard, refused or not
	t := sh.get(h, req.Tenant)
	if t == nil {
		var ok bool
		if t, ok = s.create(now, sh, h, req.Tenant, planFor); !ok {
			*d = Decision{Reason: ReasonTenants, Cost: req.Credits, RetryAfter: ConcurrencyRetryAfter}
			return 0
		}
	}
	e := t.app0.Load()
	if e == nil || e.name != req.App {
		if e = t.apps.Load().find(req.App); e == nil {
			if e = s.addApp(t, req.App); e == nil {
				if t.dead.Load() {
					return s.take(now, req, planFor, lease, d, alerts)
				}
				*d = refusal(now, t.wins.Load(), ReasonConcurrency, req.Credits)
				return 0
			}
		}
	}
	// Reading the limit now, before the semaphore's compare-and-swap (a full
	// barrier), lets a cold pool's cache miss overlap the semaphore's: at
	// 100,000 tenants admissions wait on such misses more than on anything.
	// The tenant's own pool is named from t (not loaded from w), so its
	// lines can load while w's does.
	w := t.wins.Load()
	r := &t.roll
	if w != &t.w0 {
		r = w.rolling
	}
	limit := r.Limit()
	var c *semEntry // the class's entry, nil if the class has no cap
	if req.Class != "" {
		if c = &t.cls0e; c.name != req.Class || c.dead.Load() {
			c = t.classes.Load().find(req.Class)
		}
	}
	// The first application's and first class's slots are the halves of
	// slots0, taken in one add; other entries have Slots of their own.
	var app, cls *semaphore.Slots
	var which uint64
	if e == &t.first {
		which = semaphore.PairA
	} else {
		app = e.sem
	}
	if c == &t.cls0e {
		which |= semaphore.PairB
	} else if c != nil {
		cls = c.sem
	}
	if app != nil && !app.TryAcquire(1) {
		*d = refusal(now, w, ReasonConcurrency, req.Credits)
		return 0
	}
	if which != 0 {
		if ok, refusedA := t.slots0.TryAcquire(which); !ok {
			releaseSlots(t, app, nil, 0)
			reason := ReasonSubConcurrency
			if refusedA {
				reason = ReasonConcurrency
			}
			*d = refusal(now, w, reason, req.Credits)
			return 0
		}
	}
	if t.dead.Load() || e.dead.Load() {
		releaseSlots(t, app, nil, which)
		return s.take(now, req, planFor, lease, d, alerts) // evicted meanwhile: look up again
	}
	if cls != nil && !cls.TryAcquire(1) {
		releaseSlots(t, app, nil, which)
		*d = refusal(now, w, ReasonSubConcurrency, req.Credits)
		return 0
	}
	if alerts {
		// Before the pool is read: the check of what this admission
		// reports is applied only if the state has not changed since.
		seen = t.alerts.seen()
	}
	var rem, reset int64
	if req.Credits > 0 {
		var ok bool
		if ok, rem = w.tryTake(r, now, req.Credits); !ok {
			releaseSlots(t, app, cls, which)
			*d = refusal(now, w, ReasonCredits, req.Credits)
			return 0
		}
		if reset = w.reset.Load(); reset == replacingReset { // after the take: see retake
			if w, ok, rem = retake(t, w, now, req.Credits); !ok {
				releaseSlots(t, app, cls, which)
				*d = refusal(now, w, ReasonCredits, req.Credits)
				return 0
			}
			r = w.rolling
			limit = r.Limit()
			reset = w.reset.Load()
		}
	} else {
		rem, reset = w.remaining(now), w.reset.Load()
	}
	ns := now.UnixNano()
	if s.touch > 0 && ns-t.lastUsed.Load() > s.touch { // idleness needs no finer grain,
		t.lastUsed.Store(ns) // and fewer writes keep the line shared between cores
	}
	// Field by field: a composite literal is built on the stack and then
	// copied, which showed in profiles (and the wide copy stalls on the
	// narrow stores just made).
	lease.t, lease.app, lease.cls, lease.which, lease.appName = t, app, cls, which, req.App
	lease.credits, lease.at, lease.limit, lease.inRun = req.Credits, ns, limit, false
	d.Allowed, d.Reason, d.Cost, d.Limit, d.RetryAfter = true, ReasonNone, req.Credits, limit, 0
	d.Window = r.Length()
	d.Remaining, d.Reset = rem, w.resetAt(now, ns, reset)
	return seen
}

func refusal(now time.Time, w *windows, r Reason, cost int64) Decision {
	d := Decision{Reason: r, Cost: cost, Limit: w.rolling.Limit(), Window: w.length(), Remaining: w.all().RemainingAt(now),
		Reset: w.all().ResetAt(now), RetryAfter: ConcurrencyRetryAfter}
	if r == ReasonCredits {
		if at, err := w.all().AvailableAt(now, cost); err == nil {
			d.RetryAfter = max(at.Sub(now), 0)
		} else {
			d.RetryAfter = w.length() // more than the pool: never, in practice
		}
	}
	return d
}

// Release implements Store.
func (s *MemoryStore) Release(l *Lease) {
	t, _ := l.Ref.(*tenant)
	if t == nil {
		return
	}
	releaseSlots(t, l.appSem, l.classSem, l.which)
}

// Adjust implements Store.
func (s *MemoryStore) Adjust(now time.Time, l *Lease, delta int64) int64 {
	t, _ := l.Ref.(*tenant)
	if t == nil {
		return 0
	}
	rem, _ := s.adjust(now, t, l.At, delta)
	return rem
}

// adjust returns the remaining credits and, for a charge, how many it took:
// fewer than delta when the pool ran out (for a compound plan, the least any
// window took). The alerts need it to tell the usage before the charge.
// A refund into windows that SetPlan is replacing may be lost (their
// spends may have been copied already): a refund withheld, never credits
// minted. A charge is made again on the new windows, as in take.
func (s *MemoryStore) adjust(now time.Time, t *tenant, at, delta int64) (rem, took int64) {
	w := t.wins.Load()
	switch {
	case delta < 0:
		w.all().RefundAt(now, time.Unix(0, at), -delta)
	case delta > 0:
		took = w.all().ChargeAt(now, delta)
		for w.reset.Load() == replacingReset {
			w = replacement(t, w)
			took = w.all().ChargeAt(now, delta)
		}
	}
	return w.all().RemainingAt(now), took
}

// retake takes n credits again, from the windows that replace w, after a
// take from w found w marked by SetPlan: SetPlan marks w before it copies
// w's spends into the new windows, so a take that does not see the mark
// was copied, and one that sees it may not have been. Taking again counts
// the call twice at worst (while a plan changes), never not at all.
func retake(t *tenant, w *windows, now time.Time, n int64) (nw *windows, ok bool, rem int64) {
	for {
		nw = replacement(t, w)
		if ok, rem = nw.tryTake(nw.rolling, now, n); !ok || nw.reset.Load() != replacingReset {
			return nw, ok, rem
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

// Peek implements Store. An unknown tenant is reported with its plan's full
// pool and is not created.
func (s *MemoryStore) Peek(now time.Time, tenant string, planFor func(string) *Plan) Decision {
	sh, h := s.shard(tenant)
	t := sh.get(h, tenant)
	if t == nil {
		p := planFor(tenant)
		return Decision{Allowed: true, Limit: p.Credits(), Remaining: p.Credits(), Reset: now, Window: p.WindowLength()}
	}
	w := t.wins.Load()
	return Decision{Allowed: true, Limit: w.rolling.Limit(), Remaining: w.all().RemainingAt(now), Reset: w.all().ResetAt(now), Window: w.length()}
}
