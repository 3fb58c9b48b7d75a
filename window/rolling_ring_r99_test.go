package window

// Reviewer 99 (session 22): the ring of size-1 words (commit e2788aa) under
// interleavings the test hooks force (built with -tags creditgate_testhooks;
// without the tag the hooks never run and the same operations run in turn). A model follows every admission by the
// slot it was charged to; after every top-level operation (nothing in flight)
// the window must count exactly the credits of the slots at or past the
// frontier, list them exactly in Returns, ResetAt and AvailableAt, and never
// have admitted more than its limit in an interval of W.

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// ringGeoms are windows whose length divides evenly by the slot width
// (size = quo+1) and ones that do not (size = quo+2), with one and two slots
// and 2 ns slots.
// ringGeom is a window's limit and geometry.
type ringGeom struct {
	limit  int64
	length time.Duration
	slots  int
}

var ringGeoms = []ringGeom{
	{10, 10 * time.Second, 10}, // rem 0: size 11, 10 words
	{10, 10 * time.Second, 7},  // rem != 0: size 8, 7 words
	{5, 10 * time.Second, 1},   // size 2, 1 word
	{5, 10 * time.Second, 2},   // size 3, 2 words
	{7, 10 * time.Second, 3},   // rem != 0: size 5, 4 words
	{6, 10, 5},                 // 2 ns slots, rem 0: size 6
	{6, 11, 5},                 // 3 ns slots, rem 2: size 5
	{4, 3, 96},                 // 2 ns slots, rem 1: size 3, 2 words
	{4, 2, 1},                  // 2 ns slots, size 2, 1 word
	{9, 5, 1},                  // one 5 ns slot: size 2
}

// r99Entry is one admission: the slot it was charged to, the instant it was
// counted at (U space) and the credits it still holds.
type r99Entry struct {
	slot, eff uint64
	n         int64
}

type r99Model struct {
	t       testing.TB
	r       *Rolling
	rng     *rand.Rand
	limit   int64
	maxU    uint64 // the newest instant any call passed (U space)
	seen    bool
	entries []r99Entry
	debt    map[uint64]int64 // refunded from admissions not yet logged (in flight)
	trace   []string
}

func (m *r99Model) width() uint64 { return m.r.g.width }

// frontier is the model's frontier: the newest call's.
func (m *r99Model) frontier() uint64 {
	if m.maxU < m.r.length() {
		return 0
	}
	return (m.maxU - m.r.length()) / m.width()
}

func (m *r99Model) pass(u uint64) {
	if !m.seen || u > m.maxU {
		m.maxU, m.seen = u, true
	}
}

func (m *r99Model) held() int64 {
	var sum int64
	f := m.frontier()
	for _, e := range m.entries {
		if e.slot >= f {
			sum += e.n
		}
	}
	return sum
}

// step picks an instant near base: a whole number of slots ahead or behind
// (the ring's edges among them) plus an offset within a slot.
func (m *r99Model) step(base uint64) uint64 {
	size := int64(m.r.size())
	w := m.width()
	ks := []int64{0, 0, 1, 2, size - 2, size - 1, size, size + 1, -1, -(size - 1), -size}
	k := ks[m.rng.IntN(len(ks))]
	offs := []uint64{0, 1, w - 1, m.r.g.rem, (w - m.r.g.rem) % w, m.rng.Uint64N(w)}
	off := offs[m.rng.IntN(len(offs))]
	u := base/w*w + off
	if k >= 0 {
		return u + uint64(k)*w
	}
	return u - uint64(-k)*w
}

// op runs one random operation at u; depth > 0 may arm a hook that runs
// more operations in the middle of it.
func (m *r99Model) op(u uint64, depth int) {
	if depth > 0 && m.rng.IntN(3) > 0 {
		m.arm(u, depth-1)
	}
	now := m.r.fromU(u, time.UTC)
	switch a := m.rng.IntN(10); {
	case a < 5: // take: TryAcquireAt's paths (fast, then take)
		n := 1 + m.rng.Int64N(m.limit)
		ok, eff, slot := m.r.acquireTok(now, n)
		m.pass(u)
		m.trace = append(m.trace, fmt.Sprintf("take(+%d, %d) = %v slot %d", int64(u-m.r.toU(start)), n, ok, slot))
		if ok {
			m.admit(slot, m.r.toU(eff), n)
		}
	case a < 7: // partial take through take
		n := 1 + m.rng.Int64N(m.limit)
		took, slot, eff, _ := m.r.take(u, n, 0, true)
		m.pass(u)
		m.trace = append(m.trace, fmt.Sprintf("partial(+%d, %d) = %d slot %d", int64(u-m.r.toU(start)), n, took, slot))
		if took > 0 {
			m.admit(slot, eff, took)
		}
	case a < 9: // refund from an earlier admission's slot
		if len(m.entries) == 0 {
			m.r.RemainingAt(now) // the window sees now, as the model does
			m.pass(u)
			return
		}
		e := m.entries[m.rng.IntN(len(m.entries))]
		n := 1 + m.rng.Int64N(m.limit)
		spent := m.r.fromU(e.slot*m.width()+m.rng.Uint64N(m.width()), time.UTC)
		got := m.r.RefundAt(now, spent, n)
		m.pass(u)
		m.trace = append(m.trace, fmt.Sprintf("refund(+%d, slot %d, %d) = %d", int64(u-m.r.toU(start)), e.slot, n, got))
		m.refund(e.slot, got)
	default:
		m.r.RemainingAt(now)
		m.pass(u)
		m.trace = append(m.trace, fmt.Sprintf("remaining(+%d)", int64(u-m.r.toU(start))))
	}
}

func (m *r99Model) admit(slot, eff uint64, n int64) {
	if eff/m.width() != slot {
		m.t.Fatalf("admission counted at %d, in slot %d, charged to slot %d\n%s", eff, eff/m.width(), slot, m.dump())
	}
	d := min(m.debt[slot], n)
	m.debt[slot] -= d
	m.entries = append(m.entries, r99Entry{slot, eff, n - d})
}

// refund takes got credits from slot s's admissions, oldest first; a refund
// of more than the slot holds is a finding.
func (m *r99Model) refund(s uint64, got int64) {
	if got > 0 && s < m.frontier() {
		m.t.Fatalf("refund gave back %d credits of slot %d, which left the window (frontier %d)\n%s", got, s, m.frontier(), m.dump())
	}
	for i := range m.entries {
		e := &m.entries[i]
		if e.slot == s && got > 0 {
			d := min(e.n, got)
			e.n -= d
			got -= d
		}
	}
	if got > 0 { // from an admission still in flight (a hook's caller): settled when it returns
		m.debt[s] += got
	}
}

// arm sets one hook to run one or two operations near u once.
func (m *r99Model) arm(u uint64, depth int) {
	hooks := []*func(){&takeHook, &loadHook, &rollHook, &slotHook, &sweepHook, &ringHook, &wordHook, &queryHook}
	names := []string{"take", "load", "roll", "slot", "sweep", "ring", "word", "query"}
	i := m.rng.IntN(len(hooks))
	h := hooks[i]
	*h = func() {
		*h = nil
		m.trace = append(m.trace, fmt.Sprintf("  in %sHook (armed at +%d):", names[i], int64(u-m.r.toU(start))))
		for range 1 + m.rng.IntN(2) {
			m.op(m.step(u), depth)
		}
		m.trace = append(m.trace, "  back from "+names[i]+"Hook")
	}
}

func (m *r99Model) dump() string {
	if len(m.trace) > 200 {
		m.trace = m.trace[len(m.trace)-200:]
	}
	return fmt.Sprintf("window %v, %d slots of %d ns (size %d, %d words); last ops:\n%s",
		m.r.Length(), m.r.length()/m.width(), m.width(), m.r.size(), m.r.words(), joinLines(m.trace))
}

func joinLines(s []string) string {
	var out string
	for _, l := range s {
		out += "  " + l + "\n"
	}
	return out
}

func clearHooks() {
	takeHook, loadHook, rollHook, slotHook, sweepHook, ringHook, wordHook, queryHook = nil, nil, nil, nil, nil, nil, nil, nil
	refundHook, drainHook, backoffHook = nil, nil, nil
	dropHook, unmarkHook = nil, nil
}

// check compares the quiescent window with the model at the newest instant.
func (m *r99Model) check() {
	m.t.Helper()
	clearHooks()
	for s, d := range m.debt {
		if d != 0 {
			m.t.Fatalf("a refund gave back %d more than slot %d held\n%s", d, s, m.dump())
		}
	}
	now := m.r.fromU(m.maxU, time.UTC)
	f := m.frontier()
	want := m.held()
	if got := m.r.TakeAt(now, 0, 0, false).Spent; got != want {
		m.t.Fatalf("the window counts %d spent, the admissions of slots >= %d hold %d\n%s", got, f, want, m.dump())
	}
	// The exact schedule: per live slot, when its credits come back.
	per := map[uint64]int64{}
	for _, e := range m.entries {
		if e.slot >= f && e.n > 0 {
			per[e.slot] += e.n
		}
		if e.slot < f && e.eff+m.r.length() > m.maxU && e.n > 0 {
			m.t.Fatalf("slot %d's credits, counted at %d, are back before W passed (now %d)\n%s", e.slot, e.eff, m.maxU, m.dump())
		}
	}
	slots := make([]uint64, 0, len(per))
	for k := range per {
		slots = append(slots, k)
	}
	slices.Sort(slots)
	var got []string
	for at, n := range m.r.Returns(now) {
		got = append(got, fmt.Sprintf("%d@%d", n, m.r.toU(at)))
	}
	var exp []string
	for _, k := range slots {
		exp = append(exp, fmt.Sprintf("%d@%d", per[k], m.r.backU(k)))
	}
	if !slices.Equal(got, exp) {
		m.t.Fatalf("Returns = %v, want %v\n%s", got, exp, m.dump())
	}
	reset := m.maxU
	if len(slots) > 0 {
		reset = m.r.backU(slots[0])
	}
	if got := m.r.toU(m.r.ResetAt(now)); got != reset {
		m.t.Fatalf("ResetAt = %d, want %d\n%s", got, reset, m.dump())
	}
	for _, n := range m.counts() {
		at := m.maxU
		avail := m.limit - want
		for _, k := range slots {
			if avail >= n {
				break
			}
			avail += per[k]
			at = m.r.backU(k)
		}
		got, err := m.r.AvailableAt(now, n)
		if err != nil || m.r.toU(got) != at {
			m.t.Fatalf("AvailableAt(%d) = %d, %v; want %d\n%s", n, m.r.toU(got), err, at, m.dump())
		}
	}
	// No interval of W above the limit (entries by the instant counted).
	es := make([]entry, 0, len(m.entries))
	for _, e := range m.entries {
		es = append(es, entry{UnixNano(m.r.fromU(e.eff, time.UTC)), e.n})
	}
	replay(m.t, es, int64(m.r.length()), m.limit)
}

// TestRingR99Interleavings drives each geometry with random operations, a
// hook armed in most of them to run more operations in its middle (a roll
// stalled before it records, a sweeper stalled after moving the frontier, a
// caller stalled between its loads), at instants whole slots apart around
// the ring's edges (jumps of size-2, size-1, size and size+1 slots), with
// stale callers, and checks the window against the model after each.
func TestRingR99Interleavings(t *testing.T) {
	defer clearHooks()
	rounds := 300
	if testing.Short() {
		rounds = 40
	}
	for gi, g := range ringGeoms {
		for round := range rounds {
			r, err := NewRolling(g.limit, g.length, WithSlots(g.slots))
			if err != nil {
				t.Fatal(err)
			}
			m := &r99Model{t: t, r: r, rng: rand.New(rand.NewPCG(uint64(gi), uint64(round))), limit: g.limit, debt: map[uint64]int64{}}
			u := r.toU(start)
			for range 60 {
				u = m.step(u)
				m.op(u, 2)
				clearHooks() // a hook that did not run
				m.check()
			}
		}
	}
}

// counts are the counts check asks AvailableAt for: each up to the limit
// when it is small, else a few (the jump model's limits reach 2*10^7).
func (m *r99Model) counts() []int64 {
	if m.limit <= 64 {
		ns := make([]int64, m.limit)
		for i := range ns {
			ns[i] = int64(i) + 1
		}
		return ns
	}
	return []int64{1, 2, m.limit / 2, m.limit - 1, m.limit}
}
