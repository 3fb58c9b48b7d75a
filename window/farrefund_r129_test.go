package window

import (
	"testing"
	"time"
)

// TestR129RefundNearLowEnd: a refund at now of credits spent at now (or a
// second before) gives them back, at any instant. In the first window
// length after the low clamp (1677-09-21 00:12:44 UTC, and every instant
// before it, which reads as it) RefundAt gives back nothing: the credits
// stay spent until they leave the window. (Not from s27's change: 01f49a8
// does the same; the memory store's Settle inherits it.)
func TestR129RefundNearLowEnd(t *testing.T) {
	low := time.Unix(-unixSecs, 0)
	for _, at := range []time.Time{
		time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
		low,
		low.Add(30 * time.Minute),
		low.Add(2 * time.Hour),
		time.Unix(unixSecs, 0),
		time.Date(2600, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		r, _ := NewRolling(100, time.Hour)
		if tk := r.TakeAt(at, 5, 0, false); tk.Took != 5 {
			t.Fatalf("%v: took %d of 5", at, tk.Took)
		}
		back := r.RefundAt(at.Add(time.Second), at, 5)
		if spent := r.TakeAt(at.Add(time.Second), 0, 0, false).Spent; back != 5 || spent != 0 {
			t.Errorf("%v: refund of 5 gave back %d, %d still spent; want 5, 0", at, back, spent)
		}
	}
}
