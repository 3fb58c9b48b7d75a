//go:build creditgate_testhooks

package window

// Issue #17: interleavings of the two rings (narrow 32-bit words and wide
// 64-bit ones) that the test hooks force. In slot terms: at instant k·w the
// live slots are k-words .. k (the frontier is k-words).

import (
	"fmt"
	"testing"
	"time"
)

// narrowGeoms are the geometries of the two-ring tests: small rings of
// ringGeoms, the default day, and MaxSlots.
var narrowGeoms = []struct {
	length time.Duration
	slots  int
}{
	{10 * time.Second, 10}, {10 * time.Second, 7}, {10 * time.Second, 1},
	{10 * time.Second, 2}, {11, 5}, {24 * time.Hour, DefaultSlots}, {time.Hour, MaxSlots},
}

// narrowWindow makes a window of g able to take four narrow capacities,
// and returns it with its first slot, a take at a slot and the narrow
// capacity.
func narrowWindow(t *testing.T, length time.Duration, slots int) (r *Rolling, k0 uint64, take func(k uint64, n int64) uint64, capN int64) {
	t.Helper()
	r = must(NewRolling(MaxLimit, length, WithSlots(slots)))
	capN = r.g.narrow.capacity()
	if err := r.SetLimit(4*capN + 100); err != nil {
		t.Fatal(err)
	}
	w := r.g.width
	take = func(k uint64, n int64) uint64 {
		t.Helper()
		ok, _, slot := r.acquireTok(r.fromU(k*w, time.UTC), n)
		if !ok {
			t.Fatalf("take of %d at slot %d refused", n, k)
		}
		return slot
	}
	return r, r.toU(start)/w + 1, take, capN
}

// TestNarrowWideRecordDuringSweep: slot k0's capacity+1 credits, too many
// for a narrow word, are rolled out of cur by a take in slot k0+words; its
// roll stalls before it swaps them into k0's wide word (slotHook), while a
// caller moves the frontier past k0 and the sweep finds both of k0's words
// empty. The roll must then see the moved frontier and empty the wide word
// (drop visits both words), leaving only slot k0+words's credit counted.
// Fails if drop only visits the narrow word.
func TestNarrowWideRecordDuringSweep(t *testing.T) {
	defer clearHooks()
	for _, g := range narrowGeoms {
		name := fmt.Sprintf("W=%v S=%d", g.length, g.slots)
		r, k0, take, capN := narrowWindow(t, g.length, g.slots)
		n, w := r.words(), r.g.width
		spends := []r99Spend{{take(k0, capN+1), capN + 1}}
		slotHook = func() {
			slotHook = nil
			r.RemainingAt(r.fromU((k0+n+1)*w, time.UTC)) // frontier k0+1: k0 leaves
		}
		spends = append(spends, r99Spend{take(k0+n, 1), 1}) // rolls k0 out: stalls in slotHook
		if slotHook != nil {
			t.Fatalf("%s: the roll did not record", name)
		}
		if !r.RingWide() {
			t.Fatalf("%s: capacity+1 did not go to the wide ring", name)
		}
		r99Expect(t, r, (k0+n+1)*w, spends, name)
	}
}

// TestNarrowSplitIndexStalledSweep: slot k0 and slot k0+words share a ring
// index. A sweeper moving the frontier past k0 stalls before it empties
// k0's word (sweepHook); meanwhile slot k0+words is rolled out of cur and
// recorded in the index's other word (k0 small in the narrow word and
// k0+words too big for it, or k0 in the wide word and k0+words small), so
// the index holds an expired slot in one ring and a live one in the other,
// and refunds race it: two credits of k0+words (from whichever word holds
// them), and k0's (gone: nothing). Once the sweeper resumes, k0's credits
// are returned and k0+words's counted, listed and refundable exactly.
// Fails if expire, refundSlot or live visit only one of the two words.
func TestNarrowSplitIndexStalledSweep(t *testing.T) {
	defer clearHooks()
	for _, g := range narrowGeoms {
		for _, bigFirst := range []bool{false, true} {
			name := fmt.Sprintf("W=%v S=%d bigFirst=%v", g.length, g.slots, bigFirst)
			r, k0, take, capN := narrowWindow(t, g.length, g.slots)
			n, w := r.words(), r.g.width
			at := func(k uint64) time.Time { return r.fromU(k*w, time.UTC) }
			a0, a1 := int64(5), capN+7
			if bigFirst {
				a0, a1 = a1, a0
			}
			spends := []r99Spend{{take(k0, a0), a0}, {take(k0+n, a1), a1}} // records k0
			var got1, got0 int64
			var inHook []r99Spend
			sweepHook = func() { // the frontier is k0+1; k0's word not yet emptied
				sweepHook = nil
				inHook = append(inHook, r99Spend{take(k0+n+1, 1), 1}) // records k0+words in the other ring
				got1 = r.RefundAt(at(k0+n+1), at(k0+n), 2)
				got0 = r.RefundAt(at(k0+n+1), at(k0), 1)
			}
			r.RemainingAt(at(k0 + n + 1)) // moves the frontier past k0: stalls in sweepHook
			if sweepHook != nil {
				t.Fatalf("%s: the sweep did not run", name)
			}
			if !r.RingWide() {
				t.Fatalf("%s: no wide ring", name)
			}
			if got1 != 2 || got0 != 0 {
				t.Fatalf("%s: refunds of slot k0+words and k0 gave back %d and %d, want 2 and 0", name, got1, got0)
			}
			spends[1].n -= 2
			spends = append(spends, inHook...)
			r99Expect(t, r, (k0+n+1)*w, spends, name)
			if got := r.RefundAt(at(k0+n+1), at(k0+n), a1); got != a1-2 {
				t.Fatalf("%s: the refund of the rest of slot k0+words gave back %d, want %d", name, got, a1-2)
			}
			spends[1].n = 0
			r99Expect(t, r, (k0+n+1)*w, spends, name+", after the refund")
		}
	}
}

// TestNarrowTagLagAtBound: a narrow word holding credits lags the frontier
// by up to 2·words slots (see narrowFormat), when the sweeper that moves
// the frontier past its slot stalls (sweepHook) and the next sweep of its
// index, a ring later, moves the frontier from k0+words to k0+2·words:
// that sweep must still read the word's tag as expired. At the default
// day (T = 9) and at MaxSlots (T = 19) this is the bound itself. Fails
// with one tag bit fewer (2^T > 2·words): the sweep reads k0 as live and
// its credits stay counted.
func TestNarrowTagLagAtBound(t *testing.T) {
	defer clearHooks()
	for _, g := range narrowGeoms {
		name := fmt.Sprintf("W=%v S=%d", g.length, g.slots)
		r, k0, take, _ := narrowWindow(t, g.length, g.slots)
		n, w := r.words(), r.g.width
		at := func(k uint64) time.Time { return r.fromU(k*w, time.UTC) }
		L := r.Limit()
		take(k0, 3)
		take(k0+1, 1)             // records k0's 3 in its narrow word
		r.RemainingAt(at(k0 + n)) // frontier k0
		var inHook [2]int64
		sweepHook = func() { // frontier k0+1, k0's word not yet emptied
			sweepHook = nil
			r.RemainingAt(at(k0 + 2*n))             // frontier k0+words: sweeps k0+1 .. k0+words-1
			inHook[0] = r.RemainingAt(at(k0 + 3*n)) // frontier k0+2·words: sweeps k0's index
			inHook[1] = r.TakeAt(at(k0+3*n), 0, 0, false).Spent
		}
		r.RemainingAt(at(k0 + n + 1))
		if sweepHook != nil {
			t.Fatalf("%s: the sweep did not run", name)
		}
		if inHook[0] != L || inHook[1] != 0 {
			t.Fatalf("%s: %d remaining, %d spent at frontier k0+2·words with the first sweeper stalled; want %d, 0", name, inHook[0], inHook[1], L)
		}
		r99Expect(t, r, (k0+3*n)*w, nil, name)
	}
}
