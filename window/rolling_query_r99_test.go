package window

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRollingR99StaleQueryReadsRetiredCur: a query (RemainingAt, TakeAt with
// n = 0, Returns, ResetAt, AvailableAt) brings the frontier up to its now
// (sync) and then reads cur and the ring under that frontier, without
// checking that it has not moved since. If another caller, whose now is a
// little later, moves the frontier past cur's slot in between, cur is retired:
// tagged with the newest expired slot, which the query's frontier still
// counts as live, and the amount retired = 2^41-1. The query then counts
// 2,199,023,255,551 credits spent, and Returns lists them: SetPlan's carry
// (store/memory/plan.go) charges a tenant's new windows with what Returns
// lists, so a plan change racing with such a step would charge the new
// windows with MaxLimit credits. Here the two steps of the query are made by
// hand, around the other caller's step (what RemainingAt and Returns do).
func TestRollingR99StaleQueryReadsRetiredCur(t *testing.T) {
	for _, jump := range []bool{false, true} { // the other caller's step: one slot (retireCur) or a whole ring (help)
		r, err := NewRolling(10, 10*time.Second, WithSlots(10))
		if err != nil {
			t.Fatal(err)
		}
		w, W := r.g.width, r.length()
		k := r.toU(start)/w + 1
		at := func(u uint64) time.Time { return r.fromU(u, time.UTC) }
		if ok, _ := r.TryAcquireAt(at(k*w), 3); !ok {
			t.Fatal("take refused")
		}
		q := k*w + W + w/2 // slot k's 3 still count here: back at (k+1)w+W
		e := r.sync(q)     // the query's first step
		other := (k+1)*w + W
		if jump {
			other += 20 * w
		}
		r.RemainingAt(at(other)) // the other caller: slot k leaves the window, cur is retired
		if got := r.spent(e); got < 0 || got > 3 {
			t.Errorf("jump=%v: a query under frontier %d counts %d spent, want 3 or 0", jump, e, got)
		}
		var listed int64
		r.live(e, func(_ uint64, a int64) bool { listed += a; return true })
		if listed < 0 || listed > 3 {
			t.Errorf("jump=%v: a query under frontier %d lists %d credits spent, want 3 or 0", jump, e, listed)
		}
	}
}

// TestRollingR99StaleQueryRace is the same race through the public API: a
// caller queries at a now a little behind the one that moves the frontier.
// Only 1 credit is ever out, so no query may see more than 10 spent.
func TestRollingR99StaleQueryRace(t *testing.T) {
	r, err := NewRolling(10, 4, WithSlots(2)) // 2 ns slots
	if err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	clock.Store(start.UnixNano())
	var stop atomic.Bool
	var bad atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for !stop.Load() {
			now := time.Unix(0, clock.Load()-2)
			if s := r.TakeAt(now, 0, 0, false).Spent; s > 10 {
				bad.Store(s)
			}
			var sum int64
			for _, n := range r.Returns(now) {
				sum += n
			}
			if sum > 10 {
				bad.Store(sum)
			}
		}
	})
	deadline := time.Now().Add(time.Second)
	for i := 0; bad.Load() == 0 && time.Now().Before(deadline); i++ {
		base := clock.Load()
		r.TryAcquireAt(time.Unix(0, base), 1)
		clock.Store(base + 4)
		r.RemainingAt(time.Unix(0, base+4))
		clock.Store(base + 6)
		r.RemainingAt(time.Unix(0, base+6)) // slot of base leaves by one step: cur retired
		if i%2 == 0 {
			clock.Store(base + 100) // the next take jumps: help retires cur
		} else {
			clock.Store(base + 8)
		}
	}
	stop.Store(true)
	wg.Wait()
	if b := bad.Load(); b != 0 {
		t.Fatalf("a query racing with a frontier move saw %d credits spent (limit 10, 1 out)", b)
	}
}

// TestRollingR99RefundRetiredCur: a refund by slot (refundTok, Compound's
// path, which does not bring the frontier up first) of a slot that has left
// the window, with cur retired and tagged with that slot: it reports the 5
// asked for as given back, from the retired amount, although the slot held
// 3 and nothing is given back.
func TestRollingR99RefundRetiredCur(t *testing.T) {
	r, err := NewRolling(10, 10*time.Second, WithSlots(10))
	if err != nil {
		t.Fatal(err)
	}
	ok, _, slot := r.takeTok(start, 3)
	if !ok {
		t.Fatal("take refused")
	}
	r.RemainingAt(start.Add(11 * time.Second)) // slot leaves by one step: cur retired, tagged slot
	if got := r.refundTok(slot, 5); got != 0 {
		t.Fatalf("a refund of a slot that left the window reports %d given back, want 0", got)
	}
	if got := r.RemainingAt(start.Add(11 * time.Second)); got != 10 {
		t.Fatalf("%d remaining, want 10", got)
	}
}
