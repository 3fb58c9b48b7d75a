//go:build creditgate_testhooks

package window

// Reviewer r110: interleavings around the wide ring's allocation.

import (
	"fmt"
	"testing"
	"time"
)

// TestWideAllocDuringJump_r110: a roll records capacity+5 credits of slot
// k0+2, which allocates the wide ring; before it publishes it (ringHook) a
// caller jumps the frontier a whole ring and more (help, which finds no
// wide ring), and takes there. The recorder must then return k0's credits
// (its slot left the window), and the window count only the new take,
// then nothing a ring later.
func TestWideAllocDuringJump_r110(t *testing.T) {
	defer clearHooks()
	for _, g := range narrowGeoms {
		for _, jump := range []uint64{1, 2, 3} { // in rings past k0+1's frontier
			name := fmt.Sprintf("W=%v S=%d jump=%d", g.length, g.slots, jump)
			r, k0, take, capN := narrowWindow(t, g.length, g.slots)
			n, w := r.words(), r.g.width
			far := k0 + 1 + jump*(n+1) + n
			take(k0, 1)
			take(k0+1, 3) // rolls k0 out: allocates the narrow ring
			var inHook []r99Spend
			ringHook = func() {
				if r.RingWide() {
					return
				}
				ringHook = nil
				inHook = append(inHook, r99Spend{take(far, 2), 2})
			}
			spends := []r99Spend{{k0, 1}, {k0 + 1, 3}}
			spends = append(spends, r99Spend{take(k0+2, capN+5), capN + 5}) // rolls k0+1 out: narrow
			spends = append(spends, r99Spend{take(k0+3, 1), 1})             // records k0+2: wide; the hook jumps
			// (The jump drops the ring the recorder allocated into: the
			// first writer after it makes a new one, see help.)
			if ringHook != nil {
				t.Fatalf("%s: the wide ring's allocation did not run the hook", name)
			}
			spends = append(spends, inHook...)
			r99Expect(t, r, far*w, spends, name)
			r99Expect(t, r, (far+n+2)*w, spends, name+", a ring later")
		}
	}
}

// TestWideAllocRace_r110: two rolls allocate the wide ring at once: the
// first stalls between allocating and publishing (ringHook) while a second
// roll, in a later slot, allocates and publishes its own and records its
// slot there. The first must record into the published ring (not its own,
// lost), and both slots be counted, listed and refundable.
func TestWideAllocRace_r110(t *testing.T) {
	defer clearHooks()
	for _, g := range narrowGeoms {
		name := fmt.Sprintf("W=%v S=%d", g.length, g.slots)
		r, k0, take, capN := narrowWindow(t, g.length, g.slots)
		n, w := r.words(), r.g.width
		if n < 3 {
			continue
		}
		at := func(k uint64) time.Time { return r.fromU(k*w, time.UTC) }
		spends := []r99Spend{{take(k0, 1), 1}, {take(k0+1, capN+1), capN + 1}}
		// A second Rolling-level roll while the first is stalled: the
		// take at k0+2 rolls k0+1 out (stalls); inside, cur is k0+2, and a
		// take at k0+3 rolls k0+2 out: give k0+2 a big amount first.
		var inner []r99Spend
		ringHook = func() {
			if r.RingWide() {
				return
			}
			ringHook = nil
			inner = append(inner, r99Spend{take(k0+2, capN+2), capN + 2})
			inner = append(inner, r99Spend{take(k0+3, 1), 1}) // records k0+2's in its own wide ring
		}
		spends = append(spends, r99Spend{take(k0+2, 1), 1}) // records k0+1: stalls before publishing
		if ringHook != nil {
			t.Fatalf("%s: the hook did not run", name)
		}
		// The outer take of 1 at k0+2 counted into cur after the inner
		// ones: its slot is k0+2 or (behind cur) k0+3.
		spends = append(spends, inner...)
		total := int64(0)
		for _, s := range spends {
			total += s.n
		}
		if got := r.TakeAt(at(k0+3), 0, 0, false).Spent; got != total {
			t.Fatalf("%s: %d spent, want %d", name, got, total)
		}
		if got := r.RefundAt(at(k0+3), at(k0+1), capN+1); got != capN+1 {
			t.Fatalf("%s: refund of slot k0+1 gave back %d, want %d", name, got, capN+1)
		}
		if got := r.RefundAt(at(k0+3), at(k0+2), capN+2); got != capN+2 {
			t.Fatalf("%s: refund of slot k0+2 gave back %d, want %d", name, got, capN+2)
		}
		// A ring later everything is back.
		end := (k0 + 3 + n + 2) * w
		if got := r.RemainingAt(r.fromU(end, time.UTC)); got != r.Limit() {
			t.Fatalf("%s: %d remaining a ring later, want %d", name, got, r.Limit())
		}
	}
}
