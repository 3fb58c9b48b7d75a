package bench

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/internal/strhash"
)

// The compact floor: what a keyed admission of the limiter's kind costs at
// least when every tenant's state is laid out as tightly as it can be. It
// finds the tenant exactly (a hash table of hash and index, then the key
// compared on the tenant's first line), takes a concurrency slot, takes a
// credit from the current slot word of a rolling window with one
// compare-and-swap after checking it against the pool, and gives the slot
// back: three atomic read-modify-writes on the one cache line that holds
// the tenant, its key included. The pool's size and the slot cap are the
// store's, not the tenant's (as if shared per plan), which is what lets a
// tenant fit in one line: a real store needs at least a second line for
// them and for what else it keeps. It has no ticket, no
// decision beyond allowed, no application or class table, no eviction, no
// usage statistics, no clock (a fixed instant), and no rolling over to a
// newer window slot: the limiter does all that and more. So this row bounds
// how fast any limiter with a concurrency cap and an exact credit window per
// tenant can be on this machine, whatever its layout: if the keyed rows'
// targets lie below it, no layout reaches them. It hashes keys with the
// store's own hash (internal/strhash), so that a cheaper hash there lowers
// the floor as well.
func init() {
	for _, n := range keyCounts {
		register(keyedFloorRow(n), impl{
			name: "compact",
			run: func(b *testing.B) {
				keyedBench(b, n, warmTake(b, "compact", n, func() (takeFunc, func(), error) {
					s := newCompactStore(keySet(n))
					now := uint64(time.Now().UnixNano())
					return func(_ context.Context, key string) bool { return s.admit(key, now) }, nil, nil
				}))
			},
		})
	}
}

const (
	compactWidth      = uint64(15 * time.Minute) // 96 slots of a 24-hour window
	compactAmountBits = 41
)

// compactTenant is one cache line (the records are one page-aligned
// allocation): the key and everything an admission reads or writes.
type compactTenant struct {
	hash  uint64
	klen  uint64
	kpre  [16]byte // the key (the rows' keys fit)
	head  atomic.Uint64
	past  atomic.Int64
	cur   atomic.Uint64 // slot tag above the amount spent in it
	slots atomic.Int64
}

type compactSlot struct {
	hash uint64
	idx  uint64 // index+1 into tenants; 0 = empty
}

type compactStore struct {
	seed    strhash.Seed
	mask    uint64
	table   []compactSlot
	tenants []compactTenant // one allocation: 64-byte records, page-aligned
}

func newCompactStore(keys []string) *compactStore {
	size := 8
	for size < 2*len(keys) {
		size *= 2
	}
	s := &compactStore{seed: strhash.NewSeed(), mask: uint64(size - 1), table: make([]compactSlot, size),
		tenants: make([]compactTenant, len(keys))}
	for i, k := range keys {
		h := strhash.String(s.seed, k)
		t := &s.tenants[i]
		t.hash, t.klen = h, uint64(len(k))
		copy(t.kpre[:], k)
		j := h & s.mask
		for s.table[j].idx != 0 {
			j = (j + 1) & s.mask
		}
		s.table[j] = compactSlot{hash: h, idx: uint64(i + 1)}
	}
	return s
}

func (s *compactStore) find(key string) *compactTenant {
	h := strhash.String(s.seed, key)
	for j := h & s.mask; ; j = (j + 1) & s.mask {
		e := &s.table[j]
		if e.idx == 0 {
			return nil
		}
		if e.hash == h {
			t := &s.tenants[e.idx-1]
			if t.hash == h && int(t.klen) == len(key) && len(key) <= len(t.kpre) && string(t.kpre[:len(key)]) == key {
				return t
			}
		}
	}
}

func (s *compactStore) admit(key string, now uint64) bool {
	t := s.find(key)
	if t == nil {
		return false
	}
	if t.slots.Add(1) > slotCapacity {
		t.slots.Add(-1)
		return false
	}
	ok := t.take(now / compactWidth)
	t.slots.Add(-1)
	return ok
}

// take takes one credit in slot k: the window engine's common case (the
// frontier and the current slot where k expects them), or a fresh slot
// word when the current one is older (this row's fixed instant makes that
// the first call only).
func (t *compactTenant) take(k uint64) bool {
	for {
		e := t.head.Load()
		c := t.cur.Load()
		p := t.past.Load()
		if t.head.Load() != e {
			continue
		}
		next := k<<compactAmountBits | 1
		if c>>compactAmountBits == k {
			if p+int64(c&(1<<compactAmountBits-1))+1 > bigLimit {
				return false
			}
			next = c + 1
		}
		if t.cur.CompareAndSwap(c, next) {
			return true
		}
	}
}
