package window

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// TestFixedRefundPastEnds: a calendar window's refund, at an instant in
// the same period, of credits spent before 1678 or after 2262 (which
// UnixNano reads as the clamped second) gives them back, whether spent is
// the instant itself or its reading (as the memory store keeps it: a
// lease's Unix ns). The period's bounds were the clamped readings, so a
// period wholly past an end held no instant ([lo, lo) in 1600, [hi, hi) in
// 2600) and the one across the high end not the last second's nanoseconds:
// RefundAt found spent outside it and gave back nothing.
func TestFixedRefundPastEnds(t *testing.T) {
	low, high := time.Unix(-unixSecs, 0), time.Unix(unixSecs, 0)
	for _, c := range []struct {
		period, reset time.Duration
	}{{time.Hour, 0}, {day, 0}, {day, 9 * time.Hour}, {7 * day, 0}} {
		t.Run(fmt.Sprintf("%v+%v", c.period, c.reset), func(t *testing.T) {
			for _, at := range []time.Time{
				time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
				low.Add(-time.Nanosecond),
				low,
				low.Add(10 * time.Minute),
				high.Add(-10 * time.Minute),
				high,
				high.Add(time.Second - time.Nanosecond),
				time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC),
				time.Date(2600, 1, 1, 0, 0, 0, 0, time.UTC),
			} {
				for _, spent := range []time.Time{at, time.Unix(0, UnixNano(at))} {
					f, _ := NewFixed(100, c.period, c.reset, time.UTC)
					mustTake(t, f, at, 5)
					now := at.Add(time.Second)
					back := f.RefundAt(now, spent, 9)
					if used := f.TakeAt(now, 0, 0, false).Spent; back != 5 || used != 0 {
						t.Errorf("%v, spent %v: refund gave back %d, %d still used; want 5, 0", at, spent, back, used)
					}
				}
			}
		})
	}
}

// TestFixedNoRefundFromBeforePastEnds: past either end, a refund of credits
// spent in an earlier period than now's still gives nothing back (they
// were reset with it).
func TestFixedNoRefundFromBeforePastEnds(t *testing.T) {
	high := time.Unix(unixSecs, 0)
	f, _ := NewFixed(100, time.Hour, 0, time.UTC)
	before := high.Add(-2 * time.Hour)
	mustTake(t, f, before, 5)
	for _, now := range []time.Time{high, time.Date(2600, 1, 1, 0, 0, 0, 0, time.UTC)} {
		mustTake(t, f, now, 7)
		if back := f.RefundAt(now, before, 5); back != 0 {
			t.Errorf("at %v: a refund of credits spent at %v gave back %d, want 0", now, before, back)
		}
		if used := f.TakeAt(now, 0, 0, false).Spent; used != 7 {
			t.Errorf("at %v: %d used, want 7", now, used)
		}
		f.RefundAt(now, now, 7)
	}
}

// TestFixedPastEndsOnePeriod: instants past either end count in the period
// of the instant they read as, whose bound past the end is the farthest
// reading. Before 1678 a period was [1678, 1678): ResetAt said credits
// spent in 1600 were back at the clamp (00:12:45) while takes until 01:00
// were refused; after 2262 the period across the clamp ended at it and the
// next real hour started a fresh pool, where every later instant reads as
// the spent period's second.
func TestFixedPastEndsOnePeriod(t *testing.T) {
	low, high := time.Unix(-unixSecs, 0).UTC(), time.Unix(unixSecs, 0).UTC()
	f, _ := NewFixed(100, time.Hour, 0, time.UTC)
	old := time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)
	mustTake(t, f, old, 100)
	hour := time.Date(1677, 9, 21, 1, 0, 0, 0, time.UTC)
	if got := f.ResetAt(old); !got.Equal(hour) {
		t.Errorf("ResetAt(%v) = %v, want %v", old, got, hour)
	}
	if ok, _ := f.TryAcquireAt(low.Add(time.Minute), 1); ok {
		t.Errorf("admitted at %v from the pool spent in %v", low.Add(time.Minute), old)
	}
	if ok, _ := f.TryAcquireAt(hour, 1); !ok {
		t.Errorf("refused at %v, the next period", hour)
	}

	f, _ = NewFixed(100, time.Hour, 0, time.UTC)
	mustTake(t, f, high.Add(-10*time.Minute), 100)
	for _, at := range []time.Time{high, time.Date(2262, 4, 12, 0, 30, 0, 0, time.UTC), time.Date(2600, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if ok, _ := f.TryAcquireAt(at, 1); ok {
			t.Errorf("admitted at %v, which reads as %v, in the spent period", at, high)
		}
		if got, want := f.ResetAt(at), time.Unix(0, math.MaxInt64); !got.Equal(want) {
			t.Errorf("ResetAt(%v) = %v, want the last instant read, %v", at, got, want)
		}
	}
}
