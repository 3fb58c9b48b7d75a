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
	low, high := time.Unix(-unixSecs, 0), time.Unix(unixSecs, 0)
	lengths := []time.Duration{time.Second, 90 * time.Second, time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}
	slots := []int{1, 2, 3, 7, 10, 96}
	for _, W := range lengths {
		for _, S := range slots {
			for seed := range 6 {
				name := fmt.Sprintf("%v/%d/%d", W, S, seed)
				rng := rand.New(rand.NewPCG(uint64(W), uint64(S*100+seed)))
				var now time.Time
				switch seed % 3 {
				case 0:
					now = low.Add(-time.Duration(rng.Int64N(int64(2 * W))))
				case 1:
					now = low.Add(time.Duration(rng.Int64N(int64(2 * W))))
				default:
					now = high.Add(-time.Duration(rng.Int64N(int64(2 * W))))
				}
				r130RunRefunds(t, name, rng, W, S, now)
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
	var takes []r130Take
	for i := range 400 {
		switch p := rng.IntN(100); {
		case p < 50:
			now = now.Add(time.Duration(rng.Int64N(max(int64(W)/int64(S)/2, 1))))
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
			tk, slot := r.stepTok(now, n, 0, false)
			step = fmt.Sprintf("take %d at %v: took %d in slot %d", n, now, tk.Took, slot)
			if tk.Took != 0 {
				takes = append(takes, r130Take{now, slot, tk.Took})
			}
		} else {
			k := &takes[rng.IntN(len(takes))]
			n := rng.Int64N(k.out + 1)
			before := r.TakeAt(now, 0, 0, false).Spent
			back := r.RefundAt(now, k.at, n)
			after := r.TakeAt(now, 0, 0, false).Spent
			step = fmt.Sprintf("refund %d at %v of a take at %v (slot %d): %d back", n, now, k.at, k.slot, back)
			if back < 0 || back > n || before-after != back {
				t.Fatalf("%s op %d: %s; spent %d -> %d", name, i, step, before, after)
			}
			if e := r.head.Load(); back > 0 && k.slot < e {
				t.Fatalf("%s op %d: %s; the take's slot left the window (frontier %d): its credits came back twice", name, i, step, e)
			}
			k.out -= back
		}
		// What the window must still count: every take's credits out
		// whose slot is at or past the frontier.
		spent := r.TakeAt(now, 0, 0, false).Spent
		e := r.head.Load()
		var out int64
		for _, k := range takes {
			if k.slot >= e {
				out += k.out
			}
		}
		if spent < out {
			t.Fatalf("%s op %d: %s; window counts %d spent, takes in live slots (frontier %d) have %d out: a refund came from a newer slot", name, i, step, spent, e, out)
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
	low, high := time.Unix(-unixSecs, 0), time.Unix(unixSecs, 0)
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
				var now time.Time
				switch seed % 3 {
				case 0:
					now = low.Add(-time.Duration(rng.Int64N(int64(2 * W))))
				case 1:
					now = low.Add(time.Duration(rng.Int64N(int64(2 * W))))
				default:
					now = high.Add(-time.Duration(rng.Int64N(int64(2 * W))))
				}
				var takes []r130Take
				for i := range 300 {
					switch p := rng.IntN(100); {
					case p < 50:
						now = now.Add(time.Duration(rng.Int64N(int64(P)/4 + 1)))
					case p < 65:
						now = now.Add(time.Duration(rng.Int64N(int64(W))))
					case p < 75:
						now = now.Add(-time.Duration(rng.Int64N(int64(W))))
					case p < 78:
						now = now.Add(-time.Duration(rng.Int64N(400)) * 24 * time.Hour)
					case p < 81:
						now = now.Add(time.Duration(rng.Int64N(400)) * 24 * time.Hour)
					}
					step := ""
					if rng.IntN(2) == 0 || len(takes) == 0 {
						n := 1 + rng.Int64N(10)
						tk, id := f.stepTok(now, n, 0, false)
						step = fmt.Sprintf("take %d at %v: took %d in period %d", n, now, tk.Took, id)
						if tk.Took != 0 {
							takes = append(takes, r130Take{now, id, tk.Took})
						}
					} else {
						k := &takes[rng.IntN(len(takes))]
						n := rng.Int64N(k.out + 1)
						before := f.TakeAt(now, 0, 0, false).Spent
						back := f.RefundAt(now, k.at, n)
						after := f.TakeAt(now, 0, 0, false).Spent
						step = fmt.Sprintf("refund %d at %v of a take at %v (period %d): %d back", n, now, k.at, k.slot, back)
						if back < 0 || back > n || before-after != back {
							t.Fatalf("%s op %d: %s; spent %d -> %d", name, i, step, before, after)
						}
						if id := f.cur.Load().id; back > 0 && k.slot != id {
							t.Fatalf("%s op %d: %s; the take's period was reset (now %d): its credits came back twice", name, i, step, id)
						}
						k.out -= back
					}
					spent := f.TakeAt(now, 0, 0, false).Spent
					p := f.cur.Load()
					var out int64
					for _, k := range takes {
						if k.slot == p.id {
							out += k.out
						}
					}
					if spent < out {
						t.Fatalf("%s op %d: %s; window counts %d spent, takes in the current period [%d, %d) have %d out", name, i, step, spent, p.start, p.end, out)
					}
					if p.start >= p.end {
						t.Fatalf("%s op %d: %s; the current period [%d, %d) is empty", name, i, step, p.start, p.end)
					}
				}
			}
		}
	}
}
