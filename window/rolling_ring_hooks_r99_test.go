//go:build creditgate_testhooks

package window

// Reviewer 99 (session 22): a roll stalled before it records its slot
// (slotHook) while others roll on and jump the frontier by exactly size-1
// and size slots, recording the slot size-1 later into the stalled roll's
// ring word (commit e2788aa: words = size-1, index epoch % words).

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

type r99Spend struct {
	slot uint64
	n    int64
}

// r99Expect checks RemainingAt and Returns at u against spends: the credits
// of the slots at or past u's frontier, each back at its slot's end plus W.
func r99Expect(t *testing.T, r *Rolling, u uint64, spends []r99Spend, what string) {
	t.Helper()
	f := (u - r.length()) / r.g.width
	per := map[uint64]int64{}
	var held int64
	for _, s := range spends {
		if s.slot >= f && s.n > 0 {
			per[s.slot] += s.n
			held += s.n
		}
	}
	now := r.fromU(u, time.UTC)
	if got := r.RemainingAt(now); got != r.Limit()-held {
		t.Fatalf("%s: %d remaining at frontier %d, want %d", what, got, f, r.Limit()-held)
	}
	var keys []uint64
	for k := range per {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var want, got []string
	for _, k := range keys {
		want = append(want, fmt.Sprintf("%d@%d", per[k], r.backU(k)))
	}
	for at, n := range r.Returns(now) {
		got = append(got, fmt.Sprintf("%d@%d", n, r.toU(at)))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: Returns %v, want %v", what, got, want)
	}
}

// TestRingR99StalledRecorderJump: slot k0's 4 credits are rolled out of cur
// by a take in slot k0+1, whose roll stalls before it writes ring word
// k0 % words. Meanwhile one caller takes 2 in slot k0+size-1 (the last slot
// live beside k0), and another jumps the frontier by exactly size-1 slots
// (to k0+size-1: a sweep, since cur's slot is still live) or by size (a
// jump through help), rolling cur on and recording slot k0+size-1 into the
// stalled roll's word; a refund then gives back one of that slot's credits.
// Every slot between holds a credit, so every live ring word is in use.
// The stalled roll must return slot 0's 4 (left the window) without touching
// the live word, and every count and return instant must be exact. With the
// jump threshold at words() (a size-1 jump through help) the 2 credits of
// the live cur are dropped; with words() = size()-2 a live slot shares a
// word with another (late: the stalled roll then retires a live slot's
// credits as it writes its own).
func TestRingR99StalledRecorderJump(t *testing.T) {
	defer clearHooks()
	for _, g := range ringGeoms {
		for _, c := range []struct {
			jump uint64 // the frontier moves size-1+jump slots
			late bool   // after the stalled roll resumed, not while it stalls
		}{{0, false}, {1, false}, {0, true}, {1, true}} {
			jump := c.jump
			name := fmt.Sprintf("W=%v S=%d jump=size-1+%d late=%v", g.length, g.slots, jump, c.late)
			r, err := NewRolling(100, g.length, WithSlots(g.slots))
			if err != nil {
				t.Fatal(err)
			}
			w, size, W := r.g.width, r.size(), r.length()
			k0 := r.toU(start)/w + 1
			at := func(u uint64) time.Time { return r.fromU(u, time.UTC) }
			take := func(u uint64, n int64) uint64 {
				t.Helper()
				ok, _, slot := r.acquireTok(at(u), n)
				if !ok {
					t.Fatalf("%s: take of %d at slot %d refused", name, n, u/w)
				}
				return slot
			}
			var spends []r99Spend
			spends = append(spends, r99Spend{take(k0*w, 4), 4})
			t1 := (k0+1)*w + W - 1 // the last instant slot k0 is live: slot k0+size-1
			t2 := (k0+size-1+jump)*w + W
			var inHook []r99Spend
			var refunded, refunded0 int64
			var s1i int
			var jumpAndRefund func(s1 uint64)
			slotHook = func() {
				slotHook = nil
				for k := k0 + 2; k+1 < k0+size; k++ { // a credit in every slot between
					inHook = append(inHook, r99Spend{take(k*w, 1), 1})
				}
				s1 := take(t1, 2)
				if s1 != k0+size-1 {
					t.Fatalf("%s: t1 in slot %d, want %d", name, s1, k0+size-1)
				}
				inHook = append(inHook, r99Spend{s1, 2})
				s1i = len(inHook) - 1
				if !c.late {
					jumpAndRefund(s1)
				}
			}
			jumpAndRefund = func(s1 uint64) {
				inHook = append(inHook, r99Spend{take(t2, 1), 1})
				if jump == 0 {
					refunded = r.RefundAt(at(t2), at(s1*w), 1)
				}
				refunded0 = r.RefundAt(at(t2), at(k0*w), 4)
			}
			sR := take((k0+1)*w, 1) // rolls slot k0 out: stalls in slotHook
			if slotHook != nil {
				t.Fatalf("%s: the roll did not record", name)
			}
			spends = append(spends, r99Spend{sR, 1})
			if c.late { // slot k0 still live: every slot so far counts
				r99Expect(t, r, t1, append(slices.Clone(spends), inHook...), name+", at t1")
				jumpAndRefund(k0 + size - 1)
			}
			spends = append(spends, inHook...)
			if refunded0 != 0 {
				t.Fatalf("%s: a refund of slot k0, which left the window, gave back %d", name, refunded0)
			}
			if jump == 0 {
				if refunded != 1 {
					t.Fatalf("%s: the refund of slot k0+size-1 gave back %d, want 1", name, refunded)
				}
				spends[2+s1i].n--
			}
			r99Expect(t, r, t2, spends, name)
			// Each slot's credits come back at its end plus W, none earlier.
			var backs []uint64
			for _, s := range spends {
				if b := r.backU(s.slot); b > t2 {
					backs = append(backs, b)
				}
			}
			slices.Sort(backs)
			for _, b := range slices.Compact(backs) {
				r99Expect(t, r, b-1, spends, name+fmt.Sprintf(", 1 ns before %d", b))
				r99Expect(t, r, b, spends, name+fmt.Sprintf(", at %d", b))
			}
		}
	}
}

// TestRingR99ResetAtInFlight: while a roll has slot k0's 4 credits in flight
// (in past, not yet in their ring word) and a refund has emptied cur, the
// window counts 4 spent, Returns lists them (at the latest instant) and
// AvailableAt(10) is that instant; ResetAt, "when the oldest spent credits
// come back (now if none are spent)", must not say now.
func TestRingR99ResetAtInFlight(t *testing.T) {
	defer clearHooks()
	r, err := NewRolling(10, 10*time.Second, WithSlots(10))
	if err != nil {
		t.Fatal(err)
	}
	w := r.g.width
	k0 := r.toU(start)/w + 1
	at := func(u uint64) time.Time { return r.fromU(u, time.UTC) }
	if ok, _ := r.TryAcquireAt(at(k0*w), 4); !ok {
		t.Fatal("take refused")
	}
	now := at((k0 + 1) * w)
	var remaining int64
	var reset, avail, first time.Time
	slotHook = func() {
		slotHook = nil
		if got := r.RefundAt(now, now, 1); got != 1 {
			t.Errorf("the refund of the roll's own credit gave back %d", got)
		}
		remaining = r.RemainingAt(now)
		reset = r.ResetAt(now)
		avail, _ = r.AvailableAt(now, 10)
		for a := range r.Returns(now) {
			first = a
			break
		}
	}
	if ok, _ := r.TryAcquireAt(now, 1); !ok { // rolls slot k0 out: its 4 in flight in the hook
		t.Fatal("take refused")
	}
	if remaining != 6 {
		t.Fatalf("%d remaining in the hook, want 6", remaining)
	}
	if !first.After(now) || !avail.After(now) {
		t.Fatalf("Returns' first %v, AvailableAt(10) %v: want after now %v", first, avail, now)
	}
	if !reset.After(now) {
		t.Fatalf("ResetAt = %v (now) with 4 credits spent; Returns' first is %v", reset, first)
	}
}

// TestRingR99WordBeforeFrontier: record loads the ring word before the
// frontier, so that a word holding another epoch than a live t holds an
// expired one (the argument for size-1 words, see words). A roll recording
// slot k0 is held between its two loads (wordHook) while slot k0 leaves the
// window and slot k0+size-1, which shares k0's word, is rolled out of cur
// and recorded there. The held roll must then see the moved frontier and
// return slot k0's 4, leaving k0+size-1's 2 counted. With the loads the
// other way round it sees k0 live, takes the word for an expired one and
// retires the live slot's credits.
func TestRingR99WordBeforeFrontier(t *testing.T) {
	defer clearHooks()
	for _, g := range ringGeoms {
		name := fmt.Sprintf("W=%v S=%d", g.length, g.slots)
		r, err := NewRolling(100, g.length, WithSlots(g.slots))
		if err != nil {
			t.Fatal(err)
		}
		w, size := r.g.width, r.size()
		k0 := r.toU(start)/w + 1
		take := func(u uint64, n int64) uint64 {
			t.Helper()
			ok, _, slot := r.acquireTok(r.fromU(u, time.UTC), n)
			if !ok {
				t.Fatalf("%s: take of %d at slot %d refused", name, n, u/w)
			}
			return slot
		}
		spends := []r99Spend{{take(k0*w, 4), 4}}
		var inHook []r99Spend
		wordHook = func() {
			wordHook = nil
			inHook = append(inHook,
				r99Spend{take((k0+size-1)*w, 2), 2}, // the last slot live beside k0
				r99Spend{take((k0+size)*w, 1), 1})   // k0 leaves; k0+size-1 goes to k0's word
		}
		spends = append(spends, r99Spend{take((k0+1)*w, 1), 1}) // rolls k0 out: held in wordHook
		if wordHook != nil {
			t.Fatalf("%s: the hook did not run", name)
		}
		spends = append(spends, inHook...)
		u := (k0 + size) * w
		r99Expect(t, r, u, spends, name)
		for _, s := range spends[1:] {
			if b := r.backU(s.slot); b > u {
				r99Expect(t, r, b-1, spends, name+", before a slot is back")
				r99Expect(t, r, b, spends, name+", as a slot is back")
				u = b
			}
		}
	}
}
