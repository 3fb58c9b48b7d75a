package window

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TryAcquireAt (fast path first) must decide exactly as the general take
// path alone, for any sequence of times, including times before the
// frontier, slot boundaries and the extremes of the time range (u near 0
// and near 2^64). Written by review (helper-12).
func TestTryAcquireMatchesTake(t *testing.T) {
	extremes := []time.Time{
		time.Unix(0, math.MinInt64), time.Unix(0, math.MinInt64+1), time.Unix(0, math.MaxInt64),
		time.Unix(0, math.MaxInt64-int64(time.Second)), time.Unix(0, 0), {},
	}
	configs := []struct {
		limit  int64
		length time.Duration
		slots  int
	}{{10, 10 * time.Second, 5}, {10, 10 * time.Second, 7}, {5, 3 * time.Nanosecond, 1}, {100, MaxLength, 96}, {7, 7, 3}}
	for ci, c := range configs {
		for seed := range 200 {
			rng := rand.New(rand.NewPCG(uint64(ci), uint64(seed)))
			a, _ := NewRolling(c.limit, c.length, WithSlots(c.slots))
			b, _ := NewRolling(c.limit, c.length, WithSlots(c.slots))
			now := start
			for i := range 200 {
				switch p := rng.IntN(100); {
				case p < 50:
					now = now.Add(time.Duration(rng.Int64N(int64(c.length/4) + 1)))
				case p < 70:
					now = now.Add(-time.Duration(rng.Int64N(int64(c.length) + 1)))
				case p < 80:
					now = extremes[rng.IntN(len(extremes))]
				case p < 90: // on a slot boundary, where the fast path's range check ends
					w := int64(a.SlotWidth())
					now = time.Unix(0, now.UnixNano()/w*w)
				default:
				}
				n := 1 + rng.Int64N(c.limit)
				okA, err := a.TryAcquireAt(now, n)
				if err != nil {
					t.Fatal(err)
				}
				took, _, _, _ := b.take(b.toU(now), n, 0, false)
				if okA != (took != 0) {
					t.Fatalf("cfg %d seed %d op %d: TryAcquireAt(%v, %d) = %v, take alone %v", ci, seed, i, now, n, okA, took != 0)
				}
				if ra, rb := a.RemainingAt(now), b.RemainingAt(now); ra != rb {
					t.Fatalf("cfg %d seed %d op %d: remaining %d vs %d", ci, seed, i, ra, rb)
				}
			}
		}
	}
}
