package limiter

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creditgate/creditgate/semaphore"
)

const numShards = 256

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
// A lookup holds its shard's read lock for the map access only; the
// admission itself takes no lock (see Take for how eviction stays safe). A
// Release needs none either, since a tenant with slots held is never evicted.
type MemoryStore struct {
	shards     [numShards]memShard
	seed       maphash.Seed
	count      atomic.Int64 // tenants held
	maxTenants int64        // 0 = unbounded
	maxApps    int
	idleAfter  int64 // ns
	slots      int
	noSweep    atomic.Int64 // Unix ns before which a full store does not sweep again
	evicted    atomic.Int64
}

// memShard is one part of the tenant map. Its lock covers only the map
// access itself: admissions run outside it (see Take for why eviction is
// still safe).
type memShard struct {
	mu sync.RWMutex // protects m
	m  map[string]*tenant
	_  [32]byte // keep neighbouring shards' locks apart
}

func (sh *memShard) get(key string) *tenant {
	sh.mu.RLock()
	t := sh.m[key]
	sh.mu.RUnlock()
	return t
}

func (sh *memShard) tenants() []*tenant {
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	out := make([]*tenant, 0, len(sh.m))
	for _, t := range sh.m {
		out = append(out, t)
	}
	return out
}

// insert adds t unless its key is present; it returns the tenant now in the
// map and whether it is t.
func (sh *memShard) insert(t *tenant) (*tenant, bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if cur := sh.m[t.key]; cur != nil {
		return cur, false
	}
	if sh.m == nil {
		sh.m = make(map[string]*tenant)
	}
	sh.m[t.key] = t
	return t, true
}

type tenant struct {
	// Hot fields first, with the first application's entry inline: one
	// allocation, so an admission touches fewer cache lines.
	key       string
	dead      atomic.Bool // set by eviction: a Take that sees it starts over
	wins      atomic.Pointer[windows]
	app0      atomic.Pointer[semEntry] // the first app: most tenants have one
	lastUsed  atomic.Int64             // Unix ns of the last admission
	classes   atomic.Pointer[semTable]
	first     semEntry // backs the first app added; never reused once dropped
	apps      atomic.Pointer[semTable]
	mu        sync.Mutex // serialises app/class table and window changes
	plan      atomic.Pointer[Plan]
	alerts    AlertState
	usedFirst bool // first has been handed out (guarded by mu)
}

type windows struct {
	length  time.Duration
	rolling creditWindow   // the pool
	all     creditWindow   // rolling, or the compound of rolling and extras
	each    []creditWindow // rolling then extras (for eviction and snapshots)
	extra   []WindowLimit
	// reset caches all.ResetAt (Unix ns) for admissions: walking a window's
	// slots for it costs more than the rest of an admission. While now is
	// before it and credits were just spent, the oldest spent slot cannot
	// have returned; a refund that empties that slot can make the cached
	// value early, never late.
	reset atomic.Int64
}

func (w *windows) resetAt(now time.Time) time.Time {
	if c := w.reset.Load(); c > now.UnixNano() {
		return time.Unix(0, c).In(now.Location())
	}
	r := w.all.ResetAt(now)
	w.reset.Store(r.UnixNano())
	return r
}

// semTable is copy-on-write: readers load it without a lock, writers replace
// it under tenant.mu. Few entries, so a linear scan beats a map.
type semTable struct {
	entries []*semEntry
}

// semEntry holds its semaphore inline: one pointer chase less per admission.
type semEntry struct {
	name string
	dead atomic.Bool // set while the entry is being dropped from a full table
	sem  semaphore.Weighted
}

func newSemEntry(name string, capacity int64) *semEntry {
	e := &semEntry{name: name}
	e.sem.SetCapacity(capacity)
	return e
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
	return s
}

func (s *MemoryStore) shard(key string) *memShard {
	return &s.shards[maphash.String(s.seed, key)%numShards]
}

// Len returns the number of tenants held.
func (s *MemoryStore) Len() int { return int(s.count.Load()) }

// Evicted returns how many tenants eviction has removed so far.
func (s *MemoryStore) Evicted() int64 { return s.evicted.Load() }

// Take implements Store. It does not allocate once the tenant and app exist;
// past the map lookup it takes no lock: three lock-free acquires.
//
// Eviction safety (see sweep): after its application slot is taken, Take
// checks the tenant's and the entry's dead flags; eviction sets the flag and
// then checks that nothing is held. Both sides write before they read (Go
// atomics are sequentially consistent), so at least one sees the other: the
// Take gives its slot back and starts over, or the eviction backs off.
func (s *MemoryStore) Take(now time.Time, req Request, planFor func(string) *Plan, lease *Lease) Decision {
	sh := s.shard(req.Tenant)
	t := sh.get(req.Tenant)
	if t == nil {
		var ok bool
		if t, ok = s.create(now, sh, req.Tenant, planFor); !ok {
			return Decision{Reason: ReasonTenants, Cost: req.Credits, RetryAfter: ConcurrencyRetryAfter}
		}
	}
	e := t.app0.Load()
	if e == nil || e.name != req.App {
		if e = t.apps.Load().find(req.App); e == nil {
			if e = s.addApp(t, req.App); e == nil {
				if t.dead.Load() {
					return s.Take(now, req, planFor, lease)
				}
				return refusal(now, t.wins.Load(), ReasonConcurrency, req.Credits)
			}
		}
	}
	w := t.wins.Load()
	app := &e.sem
	if !app.TryAcquire(1) {
		return refusal(now, w, ReasonConcurrency, req.Credits)
	}
	if t.dead.Load() || e.dead.Load() {
		app.Release(1)
		return s.Take(now, req, planFor, lease) // evicted meanwhile: look up again
	}
	class := ""
	var cls *semaphore.Weighted
	if req.Class != "" {
		if c := t.classes.Load().find(req.Class); c != nil {
			cls = &c.sem
			if !cls.TryAcquire(1) {
				app.Release(1)
				return refusal(now, w, ReasonSubConcurrency, req.Credits)
			}
			class = req.Class
		}
	}
	if req.Credits > 0 {
		if ok, _ := w.all.TryAcquireAt(now, req.Credits); !ok {
			if cls != nil {
				cls.Release(1)
			}
			app.Release(1)
			return refusal(now, w, ReasonCredits, req.Credits)
		}
	}
	ns := now.UnixNano()
	if ns-t.lastUsed.Load() > int64(time.Millisecond) { // idleness needs no finer grain,
		t.lastUsed.Store(ns) // and fewer writes keep the line shared between cores
	}
	d := Decision{Allowed: true, Cost: req.Credits, Limit: w.rolling.Limit(),
		Remaining: w.all.RemainingAt(now), Reset: w.resetAt(now)}
	*lease = Lease{Tenant: t.key, App: req.App, Class: class, Credits: req.Credits, At: ns,
		Limit: d.Limit, Alerts: &t.alerts, Ref: t, appSem: app, classSem: cls}
	return d
}

func refusal(now time.Time, w *windows, r Reason, cost int64) Decision {
	d := Decision{Reason: r, Cost: cost, Limit: w.rolling.Limit(), Remaining: w.all.RemainingAt(now),
		Reset: w.all.ResetAt(now), RetryAfter: ConcurrencyRetryAfter}
	if r == ReasonCredits {
		if at, err := w.all.AvailableAt(now, cost); err == nil {
			d.RetryAfter = max(at.Sub(now), 0)
		} else {
			d.RetryAfter = w.length // more than the pool: never, in practice
		}
	}
	return d
}

// Release implements Store.
func (s *MemoryStore) Release(l *Lease) {
	if l.classSem != nil {
		l.classSem.Release(1)
	}
	if l.appSem != nil {
		l.appSem.Release(1)
	}
}

// Adjust implements Store.
func (s *MemoryStore) Adjust(now time.Time, l *Lease, delta int64) int64 {
	t, _ := l.Ref.(*tenant)
	if t == nil {
		return 0
	}
	w := t.wins.Load()
	switch {
	case delta < 0:
		w.all.RefundAt(now, time.Unix(0, l.At), -delta)
	case delta > 0:
		w.all.ChargeAt(now, delta)
	}
	return w.all.RemainingAt(now)
}

// Peek implements Store. An unknown tenant is reported with its plan's full
// pool and is not created.
func (s *MemoryStore) Peek(now time.Time, tenant string, planFor func(string) *Plan) Decision {
	t := s.shard(tenant).get(tenant)
	if t == nil {
		p := planFor(tenant)
		return Decision{Allowed: true, Limit: p.Credits(), Remaining: p.Credits(), Reset: now}
	}
	w := t.wins.Load()
	return Decision{Allowed: true, Limit: w.rolling.Limit(), Remaining: w.all.RemainingAt(now), Reset: w.all.ResetAt(now)}
}
