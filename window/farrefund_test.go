package window

import (
	"fmt"
	"testing"
	"time"
)

// TestRefundNearLowClamp: TestR129RefundNearLowEnd over geometries (one
// slot, slots that do not divide W, short and long windows) and refunds
// later in the window: credits taken before 1678 or within a window length
// after the low clamp, which the window counts at its first frontier's
// instant W, come back whole on a refund while their slot is live, never
// more than were taken, and not at all once the slot has left.
func TestRefundNearLowClamp(t *testing.T) {
	low := time.Unix(-unixSecs, 0)
	for _, g := range []struct {
		W     time.Duration
		slots int
	}{{time.Hour, DefaultSlots}, {time.Hour, 7}, {time.Hour, 1}, {90 * time.Second, DefaultSlots}, {24 * time.Hour, DefaultSlots}} {
		t.Run(fmt.Sprintf("%v/%d", g.W, g.slots), func(t *testing.T) {
			W := g.W
			for _, at := range []time.Time{
				time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
				low.Add(-time.Nanosecond),
				low,
				low.Add(W / 2),
				low.Add(W - time.Second),
				low.Add(W),
				low.Add(W + W/time.Duration(g.slots)),
			} {
				for _, later := range []time.Duration{0, W / 4, W - time.Nanosecond} {
					r, _ := NewRolling(100, W, WithSlots(g.slots))
					if tk := r.TakeAt(at, 5, 0, false); tk.Took != 5 {
						t.Fatalf("%v: took %d of 5", at, tk.Took)
					}
					now := at.Add(later)
					back := r.RefundAt(now, at, 9)
					again := r.RefundAt(now, at, 9)
					if spent := r.TakeAt(now, 0, 0, false).Spent; back != 5 || again != 0 || spent != 0 {
						t.Errorf("%v, refund at +%v: gave back %d then %d, %d still spent; want 5, 0, 0", at, later, back, again, spent)
					}
				}
				// Once every credit is back, a refund finds nothing: the
				// credits counted at W are back by 3W (2W+w at most), and
				// instants before the clamp all read as it.
				r, _ := NewRolling(100, W, WithSlots(g.slots))
				r.TakeAt(at, 5, 0, false)
				now := at.Add(4 * W)
				if at.Before(low) {
					now = low.Add(4 * W)
				}
				if back, spent := r.RefundAt(now, at, 5), r.TakeAt(now, 0, 0, false).Spent; back != 0 || spent != 0 {
					t.Errorf("%v, refund at +4W: gave back %d, %d spent; want 0, 0", at, back, spent)
				}
			}
		})
	}
}
