package semaphore

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"sync/atomic"
)

var (
	// ErrTooManyKeys: the Group holds maxKeys live keys and none is idle, so a
	// new key cannot get a semaphore.
	ErrTooManyKeys = errors.New("semaphore: too many keys")
	// ErrInvalidMaxKeys: NewGroup was given maxKeys <= 0.
	ErrInvalidMaxKeys = errors.New("semaphore: maxKeys must be positive")
	// ErrNilCapacity: NewGroup was given a nil capacity function.
	ErrNilCapacity = errors.New("semaphore: nil capacity function")
)

// retryLimit bounds how often a lookup that needed room sweeps and retries
// before it gives up with ErrTooManyKeys (other creators may take the room it
// freed).
const retryLimit = 4

// evictScan bounds how many entries of one shard a lookup examines when it
// needs room. Map iteration starts at a random place, so this samples: when a
// Group is full of busy keys, a flood of new keys costs each at most
// evictScan*shards cheap checks instead of a scan of every key. The price is
// that an idle key can be missed in a huge shard (ErrTooManyKeys while one
// exists); Sweep examines everything.
const evictScan = 64

// Group holds one Weighted per key (an application id, or application + API
// class), created on demand with the capacity the capacity function gives
// for the key. At most maxKeys keys are live: when a new key needs room, an
// idle semaphore (nothing held, nobody waiting) is retired and dropped, so a
// flood of distinct keys cannot grow memory without bound; if every key is
// busy the new key gets ErrTooManyKeys.
//
// Retiring marks the semaphore dead with a CAS on its state word from "idle"
// to "dead"; an acquire racing with it either wins (and the retirement fails)
// or sees the dead mark and looks the key up again. So there are never two
// live semaphores for one key, and the per-key capacity holds even while keys
// are evicted and recreated. A semaphore returned by TryAcquire or Acquire
// should be used only to Release what was acquired on it.
//
// The zero value is not usable; call NewGroup. A Group is safe for concurrent
// use; TryAcquire on an existing key takes a read lock and one CAS and does
// not allocate.
type Group struct {
	capacity func(key string) int64
	maxKeys  int64
	count    atomic.Int64 // live keys over all shards
	seed     maphash.Seed
	shards   []groupShard // len is a power of two
}

type groupShard struct {
	mu sync.RWMutex // protects m
	m  map[string]*Weighted
	_  [32]byte // keep neighbouring shards' locks off one cache line
}

// NewGroup returns a Group of at most maxKeys live keys whose semaphores get
// capacity(key) when created (a capacity <= 0 refuses everything, see
// NewWeighted). capacity is called without locks held, possibly more than
// once for a key and concurrently, and should be fast.
func NewGroup(maxKeys int, capacity func(key string) int64) (*Group, error) {
	if maxKeys <= 0 {
		return nil, ErrInvalidMaxKeys
	}
	if capacity == nil {
		return nil, ErrNilCapacity
	}
	n := 1
	for n < 32 && n*8 <= maxKeys {
		n *= 2
	}
	g := &Group{capacity: capacity, maxKeys: int64(maxKeys), seed: maphash.MakeSeed(), shards: make([]groupShard, n)}
	for i := range g.shards {
		g.shards[i].m = make(map[string]*Weighted)
	}
	return g, nil
}

func (g *Group) shard(key string) *groupShard {
	if len(g.shards) == 1 {
		return &g.shards[0]
	}
	h := maphash.String(g.seed, key)
	return &g.shards[h&uint64(len(g.shards)-1)]
}

// TryAcquire takes weight n on key's semaphore without blocking and returns
// that semaphore, to Release on later. It returns (nil, false) when the weight
// is not available or when there is no room for a new key.
func (g *Group) TryAcquire(key string, n int64) (*Weighted, bool) {
	for {
		s, err := g.get(key)
		if err != nil {
			return nil, false
		}
		switch s.tryAcquire(n) {
		case tryOK:
			return s, true
		case tryRefused:
			return nil, false
		}
		// tryDead: retired between the lookup and the CAS; look again.
	}
}

// Acquire takes weight n on key's semaphore, waiting in FIFO order as
// Weighted.Acquire does, and returns the semaphore to Release on. Errors:
// ErrTooManyKeys, or those of Weighted.Acquire.
func (g *Group) Acquire(ctx context.Context, key string, n int64) (*Weighted, error) {
	for {
		s, err := g.get(key)
		if err != nil {
			return nil, err
		}
		err = s.Acquire(ctx, n)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, ErrEvicted) {
			return nil, err
		}
	}
}

// Len returns the number of live keys.
func (g *Group) Len() int { return int(g.count.Load()) }

// Sweep retires and drops every idle semaphore and returns how many it
// dropped. Eviction also happens on demand; Sweep is for callers that want
// memory back without waiting for new keys.
func (g *Group) Sweep() int {
	k := 0
	for i := range g.shards {
		k += g.sweepShard(&g.shards[i], -1)
	}
	return k
}

func (g *Group) get(key string) (*Weighted, error) {
	sh := g.shard(key)
	sh.mu.RLock()
	s := sh.m[key]
	sh.mu.RUnlock()
	if s != nil {
		return s, nil
	}
	return g.create(sh, key)
}

func (g *Group) create(sh *groupShard, key string) (*Weighted, error) {
	// Asked before locking: the function is the caller's and may be slow.
	c := g.capacity(key)
	for range retryLimit {
		sh.mu.Lock()
		if s := sh.m[key]; s != nil {
			sh.mu.Unlock()
			return s, nil
		}
		if g.reserve() || g.evictOneLocked(sh) {
			s := NewWeighted(c)
			sh.m[key] = s
			sh.mu.Unlock()
			return s, nil
		}
		sh.mu.Unlock()
		// Room must come from another shard. Locks are taken one at a time,
		// never nested, so creators in different shards cannot deadlock.
		freed := 0
		for i := range g.shards {
			if o := &g.shards[i]; o != sh {
				if freed = g.sweepShard(o, 1); freed > 0 {
					break
				}
			}
		}
		if freed == 0 {
			return nil, ErrTooManyKeys
		}
	}
	return nil, ErrTooManyKeys
}

// reserve counts one more live key if there is room.
func (g *Group) reserve() bool {
	for {
		c := g.count.Load()
		if c >= g.maxKeys {
			return false
		}
		if g.count.CompareAndSwap(c, c+1) {
			return true
		}
	}
}

// evictOneLocked drops one idle semaphore from sh, whose lock is held, and
// keeps its slot in count for the caller's new key.
func (g *Group) evictOneLocked(sh *groupShard) bool {
	seen := 0
	for k, s := range sh.m {
		if seen++; seen > evictScan {
			return false
		}
		if s.retire() {
			delete(sh.m, k)
			return true
		}
	}
	return false
}

// sweepShard drops up to limit idle semaphores from sh, examining at most
// evictScan entries; with limit < 0 it examines all and drops every idle one.
func (g *Group) sweepShard(sh *groupShard, limit int) int {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	k, seen := 0, 0
	for key, s := range sh.m {
		if seen++; k == limit || limit >= 0 && seen > evictScan {
			break
		}
		if s.retire() {
			delete(sh.m, key)
			g.count.Add(-1)
			k++
		}
	}
	return k
}
