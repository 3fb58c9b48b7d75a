package window

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// r130Take is one take of the property test: the instant passed, the slot
// it was charged to (its token) and the credits still out.
type r130Take struct {
	at   time.Time
	slot uint64
	out  int64
}

// TestR130RefundPropertyNearClamps: random takes and refunds (each of at
// most what its take still has out, dated at the take's own instant)
// around both clamped ends, over geometries of 1 to 96 slots and 1 s to 7
// days, with steps forward, back and across the clamp. After every step
// the window still counts every credit still out of a take whose slot has
// not left the window: a refund never gives back credits of a slot newer
// than the one its take was charged to (which would return them early),
// never more than asked, never any of a take whose slot has left, and the
// spent count drops by what it reports.
func TestR130RefundPropertyNearClamps(t *testing.T) {
	lengths := []time.Duration{time.Second, 90 * time.Second, time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}
	slots := []int{1, 2, 3, 7, 10, 96}
	for _, W := range lengths {
		for _, S := range slots {
			for seed := range 6 {
				name := fmt.Sprintf("%v/%d/%d", W, S, seed)
				rng := rand.New(rand.NewPCG(uint64(W), uint64(S*100+seed)))
				r130RunRefunds(t, name, rng, W, S, r130Start(rng, seed, W))
			}
		}
	}
}

func r130RunRefunds(t *testing.T, name string, rng *rand.Rand, W time.Duration, S int, now time.Time) {
	const limit = 50
	r, err := NewRolling(limit, W, WithSlots(S))
	if err != nil {
		t.Fatal(err)
	}
	// A take's slot counts while it is at or past the frontier.
	live := func(slot uint64) bool { return slot >= r.head.Load() }
	r130Steps(t, name, rng, r, W, max(W/time.Duration(S)/2, 1), 400, now, live, nil)
}

// r130Start is a property run's first instant, by seed: within two window
// lengths before the low clamp, after it, or before the high one.
func r130Start(rng *rand.Rand, seed int, W time.Duration) time.Time {
	low, high := time.Unix(-unixSecs, 0), time.Unix(unixSecs, 0)
	d := time.Duration(rng.Int64N(int64(2 * W)))
	switch seed % 3 {
	case 0:
		return low.Add(-d)
	case 1:
		return low.Add(d)
	}
	return high.Add(-d)
}

// r130Window is what r130Steps drives: a rolling or a calendar window.
type r130Window interface {
	stepTok(now time.Time, n, keep int64, partial bool) (Take, uint64)
	TakeAt(now time.Time, n, keep int64, partial bool) Take
	RefundAt(now, spent time.Time, n int64) int64
}

// r130Steps runs ops random takes and refunds on w from now, with steps of
// up to small forward half the time, of up to W forward or back, and of up
// to 400 days across either end, and checks the properties after each:
// live reports whether a take's slot (its token) still counts in w, and
// extra, if not nil, checks w further (a message for a failure).
func r130Steps(t *testing.T, name string, rng *rand.Rand, w r130Window, W, small time.Duration, ops int, now time.Time,
	live func(slot uint64) bool, extra func() string) {
	t.Helper()
	var takes []r130Take
	for i := range ops {
		switch p := rng.IntN(100); {
		case p < 50:
			now = now.Add(time.Duration(rng.Int64N(int64(small))))
		case p < 65:
			now = now.Add(time.Duration(rng.Int64N(int64(W))))
		case p < 75:
			now = now.Add(-time.Duration(rng.Int64N(int64(W))))
		case p < 78:
			now = now.Add(-time.Duration(rng.Int64N(400)) * 24 * time.Hour) // past the low end, maybe
		case p < 81:
			now = now.Add(time.Duration(rng.Int64N(400)) * 24 * time.Hour) // past the high end, maybe
		}
		step := ""
		if rng.IntN(2) == 0 || len(takes) == 0 {
			n := 1 + rng.Int64N(10)
			tk, slot := w.stepTok(now, n, 0, false)
			step = fmt.Sprintf("take %d at %v: took %d in slot %d", n, now, tk.Took, slot)
			if tk.Took != 0 {
				takes = append(takes, r130Take{now, slot, tk.Took})
			}
		} else {
			k := &takes[rng.IntN(len(takes))]
			n := rng.Int64N(k.out + 1)
			before := w.TakeAt(now, 0, 0, false).Spent
			back := w.RefundAt(now, k.at, n)
			after := w.TakeAt(now, 0, 0, false).Spent
			step = fmt.Sprintf("refund %d at %v of a take at %v (slot %d): %d back", n, now, k.at, k.slot, back)
			if back < 0 || back > n || before-after != back {
				t.Fatalf("%s op %d: %s; spent %d -> %d", name, i, step, before, after)
			}
			if back > 0 && !live(k.slot) {
				t.Fatalf("%s op %d: %s; the take's slot no longer counts: its credits came back twice", name, i, step)
			}
			k.out -= back
		}
		// What the window must still count: every take's credits out
		// whose slot still counts.
		spent := w.TakeAt(now, 0, 0, false).Spent
		var out int64
		for _, k := range takes {
			if live(k.slot) {
				out += k.out
			}
		}
		if spent < out {
			t.Fatalf("%s op %d: %s; window counts %d spent, takes in live slots have %d out: a refund came from a newer slot", name, i, step, spent, out)
		}
		if extra != nil {
			if msg := extra(); msg != "" {
				t.Fatalf("%s op %d: %s; %s", name, i, step, msg)
			}
		}
	}
}

// TestR130FixedRefundPropertyNearClamps: TestR130RefundPropertyNearClamps
// for calendar windows, in zones east and west of UTC and one with DST,
// periods of 1 s to 7 days and reset offsets: after every step the window
// counts at least every credit still out of a take charged to the current
// period, a refund gives back at most what it was asked and nothing for a
// take of a period since reset, and the spent count drops by what it
// reports.
func TestR130FixedRefundPropertyNearClamps(t *testing.T) {
	var locs []*time.Location
	for _, name := range []string{"UTC", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kathmandu"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		locs = append(locs, loc)
	}
	for _, P := range []time.Duration{time.Second, 90 * time.Second, time.Hour, day, 7 * day} {
		for li, loc := range locs {
			for seed := range 6 {
				name := fmt.Sprintf("%v/%s/%d", P, loc, seed)
				rng := rand.New(rand.NewPCG(uint64(P), uint64(li*100+seed)))
				reset := time.Duration(rng.Int64N(int64(day)))
				f, err := NewFixed(50, P, reset, loc)
				if err != nil {
					t.Fatal(err)
				}
				W := max(P, time.Hour)
				now := r130Start(rng, seed, W)
				// A take's period counts while it is the current one.
				live := func(id uint64) bool { return id == f.cur.Load().id }
				empty := func() string {
					if p := f.cur.Load(); p.start >= p.end {
						return fmt.Sprintf("the current period [%d, %d) is empty", p.start, p.end)
					}
					return ""
				}
				r130Steps(t, name, rng, f, W, P/4+1, 300, now, live, empty)
			}
		}
	}
}
