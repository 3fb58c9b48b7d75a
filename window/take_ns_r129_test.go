package window

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestR129TakeUnixNanoIsTakeAt: twin windows, one driven by TakeAt and one
// by TakeUnixNano(UnixNano(now)), through takes, peeks (n <= 0), lowered
// limits and instants past both clamped ends, report the same Takes.
func TestR129TakeUnixNanoIsTakeAt(t *testing.T) {
	rng := rand.New(rand.NewPCG(129, 3))
	for _, start := range []time.Time{
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(-unixSecs, 0).Add(-time.Hour),
		time.Unix(unixSecs, 0).Add(-time.Hour),
	} {
		a, _ := NewRolling(50, time.Hour, WithSlots(12))
		b, _ := NewRolling(50, time.Hour, WithSlots(12))
		now := start
		for i := range 3000 {
			now = now.Add(time.Duration(rng.Int64N(int64(10 * time.Minute))))
			if rng.IntN(50) == 0 {
				L := 10 + rng.Int64N(60)
				_ = a.SetLimit(L)
				_ = b.SetLimit(L)
			}
			n, keep, partial := rng.Int64N(12)-2, rng.Int64N(8)-1, rng.IntN(3) == 0
			ta := a.TakeAt(now, n, keep, partial)
			tb := b.TakeUnixNano(UnixNano(now), n, keep, partial)
			if ta != tb {
				t.Fatalf("start %v op %d at %v: TakeAt(%d, %d, %v) = %+v, TakeUnixNano = %+v", start, i, now, n, keep, partial, ta, tb)
			}
			if n <= 0 && (ta.Took != 0 || ta.Remaining != max(a.Limit()-ta.Spent, 0)) {
				t.Fatalf("op %d: peek %+v under limit %d", i, ta, a.Limit())
			}
		}
	}
}
