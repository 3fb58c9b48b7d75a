package memory

import (
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creditgate/creditgate/internal/strhash"
	"github.com/creditgate/creditgate/store"
)

const (
	shardBits = 8
	numShards = 1 << shardBits
)

// DefaultMaxApps bounds the applications one tenant keeps slots for.
const DefaultMaxApps = 64

// MaxKeyBytes is the longest tenant key the store holds: Take and Charge
// refuse a longer one with store.ReasonTenants, and RestoreAt a snapshot
// that holds one. With MaxWindows, it bounds what one tenant may hold, so
// RestoreAt can bound what it reads of one tenant's entry (the middleware's
// keys are at most 1 MiB too: WithMaxKeyBytes).
const MaxKeyBytes = 1 << 20

// MaxWindows is store.MaxWindows, the most windows (the pool and its
// extra windows) of a plan: what one tenant may hold, with MaxKeyBytes.
const MaxWindows = store.MaxWindows

// Store is the in-memory store.Store: tenants in a sharded hash table, each
// holding its windows (the pool, rolling or calendar, and a compound plan's
// extra windows) and one slot count per application and per capped API
// class. It is the default store of a limiter, and what one process needs.
//
// It is bounded, in bytes (WithMaxBytes, DefaultMaxBytes) and optionally in
// active tenants (WithMaxTenants). A new tenant that would exceed a bound
// first makes room: idle tenants (nothing in flight, unused for at least
// WithIdleAfter) are folded into a compact record of when their spent
// credits come back, or dropped if none are out, and rebuilt exactly when
// they return (see fold.go), so no spending is lost and a full store holds
// about 5 times more idle tenants than active ones (TestFoldMemory: 558 B
// active, 113 B folded). A tenant that has spent within one
// slot only has no ring of slot words yet (about 430 B); the bound counts
// the ring anyway, so it holds when the ring comes. If no tenant can be
// folded, the request is refused with store.ReasonTenants and a RetryAfter
// of when room can come: when a folded record expires, or a busy tenant
// turns idle.
//
// Take, Release and Settle take no lock and do not allocate once a tenant
// and its application exist. Safe for concurrent use. A Store must be made
// by New: a zero Store has no hash seed and no bounds.
type Store struct {
	shards     [numShards]shard
	seed       strhash.Seed
	count      atomic.Int64 // tenants held
	maxTenants int64        // 0 = unbounded
	maxApps    int
	idleAfter  int64 // ns
	// touch is how stale a tenant's lastUsed may get: idleAfter/8, at least a
	// millisecond, or 0 (never written) without an idle time. A lastUsed
	// late by that much lets a tenant be evicted that much early, which loses
	// nothing, while writing it on every admission kept one more line per
	// tenant dirty.
	touch    int64
	slots    int
	cache    bool         // WithSlotCache
	noSweep  atomic.Int64 // Unix ns before which a full store does not sweep again
	sweeping sync.Mutex   // makeRoom's sweeps, one at a time
	evicted  atomic.Int64
	plans    atomic.Uint64 // SetPlan calls begun (see create)

	maxBytes int64        // bound on bytes (see WithMaxBytes)
	bytes    atomic.Int64 // tenants' and folded records' estimated bytes
	folded   atomic.Int64 // folded records held
	nextRoom atomic.Int64 // Unix ns at which the last full sweep saw room coming

	names names // application names, one copy each (see names)
}

// names keeps one copy of each application name for every tenant's entry:
// an admission compares its request's name with its entry's, and with a
// copy per tenant that compare read a line of its own, a cache miss at
// 100,000 tenants, where one shared copy stays in the cache. Bounded: past
// maxNames names, or for a name longer than maxNameBytes, each entry gets
// its own copy as before.
type names struct {
	m sync.Map // string -> *string, the one copy
	n atomic.Int64
}

const (
	maxNames     = 1024
	maxNameBytes = 128
)

// of returns the one copy of name, or a copy of its own once the table is
// full: never the caller's string, which may be a slice of a larger buffer.
func (ns *names) of(name string) string { return *ns.ref(name) }

// ref is of's string behind a pointer that every entry of the name shares
// (a tenant's first line keeps one: 8 bytes, where a string takes 16), or
// a pointer of its own once the table is full.
func (ns *names) ref(name string) *string {
	if v, ok := ns.m.Load(name); ok {
		return v.(*string)
	}
	c := strings.Clone(name)
	if len(name) > maxNameBytes {
		return &c
	}
	// A place is taken before the store, not counted after it: first uses
	// that overlap would each pass a check against the last free place.
	// One taken past the bound is given back (meanwhile another may find
	// the table full: it clones, which is only slower).
	if ns.n.Add(1) > maxNames {
		ns.n.Add(-1)
		return &c
	}
	if testHooks && namesHook != nil {
		namesHook()
	}
	v, loaded := ns.m.LoadOrStore(c, &c)
	if loaded { // another first use stored it: its place is given back
		ns.n.Add(-1)
	}
	return v.(*string)
}

// namesHook, when set (tests built with -tags creditgate_testhooks), runs
// in names.of once a new name has its place in the table, before it is
// stored.
var namesHook func()

// DefaultMaxBytes is the memory a store may hold for tenants unless
// WithMaxBytes says otherwise: room for about 200,000 active tenants with
// default windows, or millions of folded idle ones.
const DefaultMaxBytes = 256 << 20

var (
	_ store.Store[Lease] = (*Store)(nil)
	_ store.Snapshotter  = (*Store)(nil)
	_ store.Lister       = (*Store)(nil)
)

// Option configures New.
type Option interface{ apply(*Store) }

type optionFunc func(*Store)

func (f optionFunc) apply(s *Store) { f(s) }

// WithMaxTenants bounds the tenants held (0, the default: unbounded).
func WithMaxTenants(n int) Option {
	return optionFunc(func(s *Store) { s.maxTenants = int64(max(n, 0)) })
}

// WithMaxBytes bounds the memory the store holds for its tenants, active and
// folded, as estimated from their windows, slots and keys (n <= 0:
// DefaultMaxBytes).
func WithMaxBytes(n int64) Option {
	return optionFunc(func(s *Store) {
		if n > 0 {
			s.maxBytes = n
		}
	})
}

// WithIdleAfter is how long a tenant must be unused before it may be evicted
// (default 0: a full pool with nothing in flight is enough).
func WithIdleAfter(d time.Duration) Option {
	return optionFunc(func(s *Store) { s.idleAfter = int64(max(d, 0)) })
}

// WithSlots sets the slot count of each rolling window (0, the default:
// window.DefaultSlots, 15-minute slots in 24 hours). More slots bring
// credits back closer to the exact time, at 8 bytes a slot.
func WithSlots(n int) Option { return optionFunc(func(s *Store) { s.slots = max(n, 0) }) }

// WithSlotCache gives each tenant a cache of the concurrency slots its
// calls give back, on stripes per goroutine (see slots.PairCache), so that
// calls of one tenant on several cores each write a line of their own
// rather than the tenant's slot word, which moved between the cores twice a
// call. A cached slot stays counted as held, so no cap is ever exceeded,
// and a refusal first gives every cached slot back. It costs 768 bytes a
// tenant (counted against WithMaxBytes) and a little on one core: worth it
// for a few tenants busy on several cores at once (a client's), not for
// many (a server's). It covers each tenant's first application and first
// capped class, which are all most tenants have.
func WithSlotCache() Option { return optionFunc(func(s *Store) { s.cache = true }) }

// WithMaxApps bounds the applications per tenant (default DefaultMaxApps).
// A tenant at the bound drops an idle application to make room, and refuses
// a new one with store.ReasonConcurrency if all are busy.
func WithMaxApps(n int) Option {
	return optionFunc(func(s *Store) {
		if n > 0 {
			s.maxApps = n
		}
	})
}

// New returns an empty in-memory store.
func New(opts ...Option) *Store {
	s := &Store{seed: strhash.NewSeed(), maxApps: DefaultMaxApps, maxBytes: DefaultMaxBytes}
	for _, o := range opts {
		o.apply(s)
	}
	if s.idleAfter > 0 {
		s.touch = max(s.idleAfter/8, int64(time.Millisecond))
	}
	// A full store's first sweep comes at any instant: at 0, the zero
	// value, a store full before 1970 never swept, and refused new
	// tenants for good.
	s.noSweep.Store(math.MinInt64)
	return s
}

// shardOf returns key's shard and hash: the top bits pick the shard, the
// seven below them the tag in its bucket, the low 32 bits its home bucket, so
// one hash serves all three.
func (s *Store) shardOf(key string) (*shard, uint64) {
	h := strhash.String(s.seed, key)
	return &s.shards[h>>(64-shardBits)], h
}

// lookup returns the tenant of key, nil if the store does not hold it.
func (s *Store) lookup(key string) *tenant {
	sh, h := s.shardOf(key)
	return sh.get(h, key)
}

// Len returns the number of tenants held.
func (s *Store) Len() int { return int(s.count.Load()) }

// Evicted returns how many tenants have left the table so far, folded or
// dropped.
func (s *Store) Evicted() int64 { return s.evicted.Load() }

// Folded returns the number of folded records held (see Store).
func (s *Store) Folded() int { return int(s.folded.Load()) }

// Bytes returns the memory the store counts against WithMaxBytes.
func (s *Store) Bytes() int64 { return s.bytes.Load() }

// Sweep folds every idle tenant now and drops the folded records whose
// credits have all come back (see Store); it returns how many tenants left
// the table and records went.
func (s *Store) Sweep(now time.Time) int {
	s.sweeping.Lock()
	defer s.sweeping.Unlock()
	return s.sweep(now)
}
