//go:build creditgate_testhooks

package window

// Reviewer r133: the jump that drains and drops the ring (a56f83a) under
// the r99 model (rolling_ring_r99_test.go), with jumps that alias lanes.

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// jumpGeoms add to ringGeoms limits whose slots spill into the 32-bit
// tier (more than 4,095 credits) and the 64-bit one (more than 2^23-1), so
// that late recorders allocate later tiers into dropped rings.
var jumpGeoms = append(slices.Clone(ringGeoms),
	ringGeom{20000, 10 * time.Second, 10},
	ringGeom{20_000_000, 10 * time.Second, 10},
	ringGeom{20_000_000, 10 * time.Second, 3},
	ringGeom{9000, 11, 5},
)

// r133Model drives an r99Model with its own steps and hooks.
type r133Model struct{ *r99Model }

// step is r99Model.step with, one time in three, a jump: a whole ring
// (size), laneAlias slots (the lane, tag and amount of a slot before it
// can come back), laneAlias±1 and two laneAliases.
func (m r133Model) step(base uint64) uint64 {
	w := m.width()
	switch m.rng.IntN(6) {
	case 0, 1:
		return m.r99Model.step(base)
	case 2, 3: // the next slot: rolls what was taken into the ring
		return base/w*w + w + m.rng.Uint64N(w)
	}
	size, alias := m.r.size(), laneAlias(m.r)
	ks := []uint64{size, size + 1, alias, alias - 1, alias + 1, 2 * alias, alias + size}
	return base/w*w + ks[m.rng.IntN(len(ks))]*w + m.rng.Uint64N(w)
}

// amount is a take's count: 1 or 2 most of the time, so that slots of the
// same amount recur, else any up to the limit.
func (m r133Model) amount() int64 {
	if m.rng.IntN(4) != 0 {
		return 1 + m.rng.Int64N(2)
	}
	return 1 + m.rng.Int64N(m.limit)
}

// op is r99Model.op with this model's steps and hooks (the refund's and
// the drain's among them).
func (m r133Model) op(u uint64, depth int) {
	if depth > 0 && m.rng.IntN(3) > 0 {
		m.arm(u, depth-1)
	}
	now := m.r.fromU(u, time.UTC)
	switch a := m.rng.IntN(10); {
	case a < 5:
		n := m.amount()
		ok, eff, slot := m.r.acquireTok(now, n)
		m.pass(u)
		m.trace = append(m.trace, fmt.Sprintf("take(+%d, %d) = %v slot %d", int64(u-m.r.toU(start)), n, ok, slot))
		if ok {
			m.admit(slot, m.r.toU(eff), n)
		}
	case a < 7:
		n := m.amount()
		took, slot, eff, _ := m.r.take(u, n, 0, true)
		m.pass(u)
		m.trace = append(m.trace, fmt.Sprintf("partial(+%d, %d) = %d slot %d", int64(u-m.r.toU(start)), n, took, slot))
		if took > 0 {
			m.admit(slot, eff, took)
		}
	case a < 9:
		if len(m.entries) == 0 {
			m.r.RemainingAt(now)
			m.pass(u)
			return
		}
		e := m.entries[m.rng.IntN(len(m.entries))]
		n := 1 + m.rng.Int64N(m.limit)
		var got int64
		if m.rng.IntN(2) == 0 {
			got = m.r.refundTok(e.slot, n) // by token: no sync first
		} else {
			spent := m.r.fromU(e.slot*m.width()+m.rng.Uint64N(m.width()), time.UTC)
			got = m.r.RefundAt(now, spent, n)
			m.pass(u)
		}
		m.trace = append(m.trace, fmt.Sprintf("refund(+%d, slot %d, %d) = %d", int64(u-m.r.toU(start)), e.slot, n, got))
		m.refund(e.slot, got)
	default:
		m.r.RemainingAt(now)
		m.pass(u)
		m.trace = append(m.trace, fmt.Sprintf("remaining(+%d)", int64(u-m.r.toU(start))))
	}
}

func (m r133Model) arm(u uint64, depth int) {
	hooks := []*func(){&takeHook, &loadHook, &rollHook, &slotHook, &sweepHook, &ringHook, &wordHook, &queryHook, &refundHook, &backoffHook}
	names := []string{"take", "load", "roll", "slot", "sweep", "ring", "word", "query", "refund", "backoff", "drain"}
	i := m.rng.IntN(len(names))
	run := func() {
		m.trace = append(m.trace, fmt.Sprintf("  in %sHook (armed at +%d):", names[i], int64(u-m.r.toU(start))))
		for range 1 + m.rng.IntN(4) {
			m.op(m.step(u), depth)
		}
		m.trace = append(m.trace, "  back from "+names[i]+"Hook")
	}
	if i == len(hooks) {
		drainHook = func(int64) { drainHook = nil; run() }
		return
	}
	h := hooks[i]
	*h = func() { *h = nil; run() }
}

// TestRingJumpInterleavings_r133 drives each geometry with random
// operations as TestRingR99Interleavings does, one step in three a jump
// (a ring, laneAlias slots and around, two laneAliases), with a hook armed
// in most operations to run more of them in its middle: every hook of the
// window's, the refund's (between its checks of a lane and its swap) and
// the drain's (a jump's helper between its check of the head and the swap
// that empties a lane) among them, and refunds by token (no sync). Nested
// operations jump again, so a helper, refund, sweeper or recorder stalls
// across one or two jumps, and a late recorder allocates a ring or a later
// tier after the drop. After every top-level operation the window must
// count exactly the live admissions (no leak, no undercount), list them in
// Returns, and never have admitted more than its limit in an interval of W.
// Passes on a56f83a.
func TestRingJumpInterleavings_r133(t *testing.T) {
	defer clearHooks()
	rounds := 200
	if testing.Short() {
		rounds = 30
	}
	rounds = stressRounds(t, rounds)
	for gi, g := range jumpGeoms {
		for round := range rounds {
			r, err := NewRolling(g.limit, g.length, WithSlots(g.slots))
			if err != nil {
				t.Fatal(err)
			}
			m := r133Model{&r99Model{t: t, r: r, rng: rand.New(rand.NewPCG(uint64(gi)+133, uint64(round))), limit: g.limit, debt: map[uint64]int64{}}}
			u := r.toU(start)
			for range 60 {
				u = m.step(u)
				m.op(u, 3)
				clearHooks()
				m.check()
			}
		}
	}
}
