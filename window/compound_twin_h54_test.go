package window

import (
	"math/rand/v2"
	"testing"
	"time"
)

// A refused compound take reports what remains just after, as its doc
// says: the parts it took from are given back, so their remainders are
// those before the take, not those of the step that was undone.
func TestCompoundRefusedTakeRemaining(t *testing.T) {
	a, _ := NewRolling(10, time.Hour)
	b, _ := NewRolling(7, time.Minute)
	c, _ := NewCompound(a, b)
	if got := c.ChargeAt(start, 4); got != 4 {
		t.Fatalf("ChargeAt(4) = %d", got)
	}
	// a has 6 left, b 3: a takes 5 (1 left), b refuses, a gets them back.
	got := c.TakeAt(start, 5, 0, false)
	want := Take{Took: 0, Spent: 4, Remaining: 3}
	if got != want {
		t.Fatalf("refused TakeAt(5) = %+v, want %+v (RemainingAt says %d)", got, want, c.RemainingAt(start))
	}
}

// twinOf returns a fresh window made as w was (Rolling or Fixed).
func twinOf(t *testing.T, w Window) Window {
	switch x := w.(type) {
	case *Rolling:
		r, err := NewRolling(x.Limit(), x.Length(), WithSlots(x.RingSize()-1))
		if err != nil {
			t.Fatal(err)
		}
		return r
	case *Fixed:
		f, err := NewFixed(x.Limit(), x.period, x.resetAt, x.loc)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	t.Fatalf("no twin for %T", w)
	return nil
}

// TestCompoundAgainstTwins drives a Compound of Rolling and Fixed parts and,
// one step at a time, twins of its parts (windows made alike, each driven
// alone, as the Compound's doc says it drives its parts): an all-or-nothing
// take is taken from every twin if each has room, else from none; a
// partial one takes from the first what fits and from each later one up to
// what the one before took, and its Took is the first's. Every Take, and
// every part's remainder after each step, is the twins'.
func TestCompoundAgainstTwins(t *testing.T) {
	for seed := range uint64(60) {
		rng := rand.New(rand.NewPCG(seed, 541))
		var parts []Window
		for i := range 2 + rng.IntN(2) {
			lim := 1 + rng.Int64N(15)
			if i == 0 || rng.IntN(2) == 0 {
				r, err := NewRolling(lim, time.Duration(1+rng.IntN(20))*time.Second, WithSlots(1+rng.IntN(8)))
				if err != nil {
					t.Fatal(err)
				}
				parts = append(parts, r)
			} else {
				f, err := NewFixed(lim, []time.Duration{10 * time.Second, time.Minute}[rng.IntN(2)], 0, time.UTC)
				if err != nil {
					t.Fatal(err)
				}
				parts = append(parts, f)
			}
		}
		c, err := NewCompound(parts...)
		if err != nil {
			t.Fatal(err)
		}
		twins := make([]Window, len(parts))
		for i, p := range parts {
			twins[i] = twinOf(t, p)
		}
		now := start
		for step := range 300 {
			now = now.Add(time.Duration(rng.Int64N(int64(3*time.Second))) - time.Second/2)
			n := rng.Int64N(12) - 1
			keep := rng.Int64N(4)
			partial := rng.IntN(3) == 0
			// The parts see every call: RemainingAt passes now to each.
			var want Take
			if partial || n <= 0 {
				want = twins[0].TakeAt(now, n, keep, partial)
				least := want.Took
				for _, w := range twins[1:] {
					x := w.TakeAt(now, least, 0, partial)
					least, want.Remaining = min(least, x.Took), min(want.Remaining, x.Remaining)
				}
			} else {
				// Parts are tried in order up to the first that refuses:
				// the Take is of those, as they are once the ones before
				// are given back.
				peeks := make([]Take, 0, len(twins))
				ok := true
				for i, w := range twins {
					k := int64(0)
					if i == 0 {
						k = keep
					}
					x := w.TakeAt(now, 0, 0, false)
					peeks = append(peeks, x)
					if n > under(w.Limit(), k)-x.Spent {
						ok = false
						// The parts before took n and gave them back by
						// the slot they charged: a Rolling's current slot
						// has moved to now's, where a caller behind it is
						// then counted (see Rolling), so take and give back
						// on the twins too.
						for j := range i {
							tw := twins[j].(tokenWindow)
							kj := int64(0)
							if j == 0 {
								kj = keep
							}
							x, tok := tw.stepTok(now, n, kj, false)
							if x.Took != n || tw.refundTok(tok, n) != n {
								t.Fatalf("seed %d step %d: twin %d took %+v and gave back less", seed, step, j, x)
							}
						}
						break
					}
				}
				if ok {
					peeks = peeks[:0]
					for i, w := range twins {
						k := int64(0)
						if i == 0 {
							k = keep
						}
						peeks = append(peeks, w.TakeAt(now, n, k, false))
					}
					want.Took = n
				}
				want.Spent, want.Remaining = peeks[0].Spent, peeks[0].Remaining
				for _, x := range peeks[1:] {
					want.Remaining = min(want.Remaining, x.Remaining)
				}
			}
			got := c.TakeAt(now, n, keep, partial)
			if got != want {
				t.Fatalf("seed %d step %d: TakeAt(+%v, %d, keep %d, partial %v) = %+v, twins say %+v", seed, step, now.Sub(start), n, keep, partial, got, want)
			}
			for i := range parts {
				if g, w := parts[i].RemainingAt(now), twins[i].RemainingAt(now); g != w {
					t.Fatalf("seed %d step %d: part %d has %d left, its twin %d", seed, step, i, g, w)
				}
			}
		}
	}
}
