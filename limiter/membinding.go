package limiter

import "github.com/creditgate/creditgate/store/memory"

// memBinding is the binding of a *memory.Store (the default store, and the
// usual one): admission and release call the store directly, where the
// generic binding's calls go through the store interface and the shape's
// dictionary. The rest is the generic binding's.
type memBinding struct {
	*binding[memory.Lease]
	m *memory.Store
}

// bindMemory returns be as a memBinding if its store is a *memory.Store
// (not a wrapper of one), else nil.
func bindMemory(be backend) *memBinding {
	if b, ok := be.(*binding[memory.Lease]); ok {
		if m, ok := b.s.(*memory.Store); ok {
			return &memBinding{binding: b, m: m}
		}
	}
	return nil
}

func (b *memBinding) newState() *ticketHeader {
	h := b.binding.newState()
	h.ops = b
	return h
}

func (b *memBinding) release(h *ticketHeader, gen uint64) bool {
	if !h.claimRelease(gen) {
		return false
	}
	b.m.Release(&state[memory.Lease](h).lease)
	// The lease is not cleared: the next Take overwrites it.
	ok := b.l.pool.give(procPin(), h) // b.l.pool.put(h), written out: see statePool.take
	procUnpin()
	if !ok {
		b.l.pool.spare.Put(h)
	}
	return true
}
