package slots

import (
	"sync/atomic"

	"github.com/creditgate/creditgate/internal/stripe"
)

// PairCache keeps slots of a Pair that calls gave back for the next call on
// the same stripe (see stripe.Index), so that a goroutine that takes and
// gives back slots over and over, while others do the same on other cores,
// writes a line of its own rather than the Pair's word: on two cores, each
// Pair add moved the word's line from the other core (a quarter of a client
// call's time in a profile at -cpu 2).
//
// A cached slot stays counted in the Pair: the Pair's count is always the
// slots in use plus those cached, so no call ever holds more than a
// capacity allows, and a refusal gives every cached slot back to the Pair
// (Drain) and tries once more, so a slot cached on another stripe never
// refuses a call for long. Held counts subtract the cached ones (Cached).
//
// A capacity lowered below the slots held must refuse calls until enough
// are given back, where a cached slot would let a call in at once: after
// any capacity change (CapacityChanged) the cache is off, and given back
// slots go to the Pair, until a release finds the count within the
// capacities again.
//
// A stripe holds what one release gave back (a delta, see Pair); a take
// uses it only if it is just what the take needs. Its zero value is ready (on);
// it is 640 bytes (768 more per tenant in the memory store), so only a caller whose slots several cores take at once
// should keep one.
type PairCache struct {
	_ [64]byte // the state's line is the cache's own, wherever it starts
	// state is the generation of the capacities, shifted up by one, and
	// the off bit (1).
	state atomic.Uint64
	_     [56]byte
	s     [stripe.Count]struct {
		w atomic.Uint64 // the cached slots: 0 or a delta
		_ [56]byte
	}
}

// TryAcquire is p.TryAcquire(delta), taking the slots cached on the
// caller's stripe if they are just what delta names.
func (c *PairCache) TryAcquire(p *Pair, delta uint64) (ok, refusedA bool) {
	if checkDelta(delta); delta == 0 { // it would match an empty stripe
		return true, false
	}
	if c.state.Load()&1 == 0 {
		w := &c.s[stripe.Index()].w
		if w.Load() == delta && w.CompareAndSwap(delta, 0) {
			return true, false
		}
	}
	if ok, refusedA = p.TryAcquire(delta); !ok && c.Drain(p) {
		ok, refusedA = p.TryAcquire(delta)
	}
	return ok, refusedA
}

// Release is p.Release(delta), keeping the slots on the caller's stripe
// (and giving back what the stripe held before) while the cache is on.
// Unlike p.Release, it does not catch a release of slots not held while the
// cache is on (that would read the Pair's word, which the cache is there to
// spare): the slot is cached and a take may use it, and only a drain that
// gives it back to a Pair holding none panics. Give back only what a take
// took.
func (c *PairCache) Release(p *Pair, delta uint64) {
	checkDelta(delta)
	if o := c.state.Load(); o&1 != 0 {
		p.Release(delta)
		c.maybeOn(p, o)
		return
	}
	if v := c.s[stripe.Index()].w.Swap(delta); v != 0 {
		p.Release(v)
	}
}

// Drain gives every cached slot back to p; whether there were any.
func (c *PairCache) Drain(p *Pair) bool {
	any := false
	for i := range c.s {
		w := &c.s[i].w
		if w.Load() == 0 {
			continue
		}
		if v := w.Swap(0); v != 0 {
			p.Release(v)
			any = true
		}
	}
	return any
}

// Cached returns the slots of A and of B cached. It reads the stripes one
// by one: racing takes and releases, a slot that moves from a stripe read
// to one not read yet (taken on one stripe, given back on another) counts
// twice, and one that moves the other way not at all, so the count may be
// none that the cache ever held. Held less Cached is the slots in use for
// gauges, not for a decision that must not miss a call in flight: drain,
// then read Held (which then counts slots cached since, too).
func (c *PairCache) Cached() (a, b int64) {
	for i := range c.s {
		v := c.s[i].w.Load()
		a += int64(uint32(v))
		b += int64(v >> 32)
	}
	return a, b
}

// CapacityChanged turns the cache off and gives its slots back to p; call
// it after each change of p's capacities. Releases turn it on again once
// p's counts are within its capacities.
func (c *PairCache) CapacityChanged(p *Pair) {
	for {
		o := c.state.Load()
		if c.state.CompareAndSwap(o, (o+2)|1) { // a new generation, off
			break
		}
	}
	c.Drain(p)
	c.maybeOn(p, c.state.Load())
}

// maybeOn turns the cache on if it is still off in state o (no capacity
// changed since) and p's counts are within its capacities. The counts are
// read after o, and a capacity change after that moves the generation, so
// the swap fails on counts read against old capacities.
func (c *PairCache) maybeOn(p *Pair, o uint64) {
	if o&1 == 0 {
		return
	}
	h, k := p.held.Load(), p.caps.Load()
	if uint32(h) <= uint32(k) && h>>32 <= k>>32 {
		c.state.CompareAndSwap(o, o&^1)
	}
}
