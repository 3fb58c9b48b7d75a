package window

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Named instants for the tables: a 10 s window of 10 one-second slots.
var (
	t0 = start
	t1 = t0.Add(500 * time.Millisecond)
	t2 = t0.Add(3 * time.Second)
	t3 = t0.Add(11*time.Second - time.Nanosecond) // slot 0 is not all older than W yet
	t4 = t0.Add(11 * time.Second)                 // slot 0 comes back
	t5 = t0.Add(9 * time.Second)                  // stale: before t4
	t6 = t0.Add(14 * time.Second)                 // t2's slot comes back
	t7 = t0.Add(20 * time.Second)
	t8 = t0.Add(22 * time.Second)
	t9 = t0.Add(72 * time.Hour) // a jump of days
)

type row struct {
	at     time.Time
	n      int64
	ok     bool
	remain int64 // RemainingAt(at) after the call
}

func run(t *testing.T, w Window, rows []row) {
	t.Helper()
	for i, r := range rows {
		ok, err := w.TryAcquireAt(r.at, r.n)
		require.NoError(t, err, "row %d", i)
		assert.Equal(t, r.ok, ok, "row %d: TryAcquireAt(t0+%v, %d)", i, r.at.Sub(t0), r.n)
		assert.Equal(t, r.remain, w.RemainingAt(r.at), "row %d: RemainingAt(t0+%v)", i, r.at.Sub(t0))
	}
}

func newTestRolling(t *testing.T) *Rolling {
	t.Helper()
	r, err := NewRolling(10, 10*time.Second, WithSlots(10))
	require.NoError(t, err)
	return r
}

func TestRollingTable(t *testing.T) {
	r := newTestRolling(t)
	run(t, r, []row{
		{t0, 4, true, 6},
		{t1, 5, true, 1},
		{t2, 2, false, 1},
		{t2, 1, true, 0},
		{t3, 1, false, 0}, // an exact log would have 4 back at t0+10s: one slot withheld
		{t4, 9, true, 0},  // all of slot 0 (4+5) is back
		{t5, 1, false, 0}, // a stale caller sees the newer spending
		{t6, 1, true, 0},  // t2's credit is back, and taken
		{t7, 1, false, 0},
		{t8, 10, false, 9}, // t4's 9 are back; the 1 from t6 is not
		{t9, 10, true, 0},  // days later everything is back
	})
}

func TestRollingResetAndAvailable(t *testing.T) {
	r := newTestRolling(t)
	assert.Equal(t, t0, r.ResetAt(t0))
	mustTake(t, r, t0, 4)
	mustTake(t, r, t2, 6)
	assert.Equal(t, t0.Add(11*time.Second), r.ResetAt(t2), "slot 0 comes back at its end plus W")
	at, err := r.AvailableAt(t2, 4)
	require.NoError(t, err)
	assert.Equal(t, t0.Add(11*time.Second), at)
	at, err = r.AvailableAt(t2, 5)
	require.NoError(t, err)
	assert.Equal(t, t0.Add(14*time.Second), at, "five credits need t2's slot back too")
	at, err = r.AvailableAt(t4, 4)
	require.NoError(t, err)
	assert.Equal(t, t4, at)
	assert.Equal(t, t0.Add(14*time.Second), r.ResetAt(t4))
}

func mustTake(t *testing.T, w Window, at time.Time, n int64) {
	t.Helper()
	ok, err := w.TryAcquireAt(at, n)
	require.NoError(t, err)
	require.True(t, ok, "TryAcquireAt(%v, %d)", at, n)
}

func TestNewRollingRejects(t *testing.T) {
	for _, tc := range []struct {
		limit  int64
		length time.Duration
		opts   []Option
		want   error
	}{
		{0, time.Hour, nil, ErrInvalidLimit},
		{-1, time.Hour, nil, ErrInvalidLimit},
		{MaxLimit + 1, time.Hour, nil, ErrInvalidLimit},
		{1, 0, nil, ErrInvalidLength},
		{1, -time.Second, nil, ErrInvalidLength},
		{1, MaxLength + 1, nil, ErrInvalidLength},
		{1, time.Hour, []Option{WithSlots(0)}, ErrInvalidSlots},
		{1, time.Hour, []Option{WithSlots(-3)}, ErrInvalidSlots},
		{1, time.Hour, []Option{WithSlots(MaxSlots + 1)}, ErrInvalidSlots},
	} {
		r, err := NewRolling(tc.limit, tc.length, tc.opts...)
		assert.ErrorIs(t, err, tc.want, "NewRolling(%d, %v)", tc.limit, tc.length)
		assert.Nil(t, r)
	}
	r, err := NewRolling(MaxLimit, time.Hour, WithSlots(MaxSlots), nil)
	require.NoError(t, err)
	assert.Equal(t, int64(MaxLimit), r.Limit())
}

func TestRollingGranularity(t *testing.T) {
	r, err := NewRolling(1, 24*time.Hour)
	require.NoError(t, err)
	assert.Equal(t, 15*time.Minute, r.SlotWidth(), "default: 96 slots, 15 minutes at 24 h")
	assert.Equal(t, 97, r.RingSize())
	assert.Equal(t, 96, r.RingWords(), "cur holds the newest live slot, the ring the others")
	assert.Equal(t, 24*time.Hour, r.Length())
	// A length that does not divide evenly: slots round up, and the ring still
	// covers the window plus the current slot.
	r, err = NewRolling(1, 10*time.Second, WithSlots(7))
	require.NoError(t, err)
	assert.Equal(t, 1428571429*time.Nanosecond, r.SlotWidth())
	assert.Equal(t, 8, r.RingSize())
	assert.Equal(t, 7, r.RingWords())
	r, err = NewRolling(1, 3*time.Nanosecond, WithSlots(96))
	require.NoError(t, err)
	assert.Equal(t, 2*time.Nanosecond, r.SlotWidth(), "slots are at least 2 ns")
}

// TestRollingMemory: at most 1 KiB per Rolling at the default granularity.
func TestRollingMemory(t *testing.T) {
	per := rollingBytes(10_000)
	t.Logf("%.0f bytes per Rolling (24 h, 96 slots)", per)
	assert.LessOrEqual(t, per, 1024.0)
}

func TestRollingHugeLimit(t *testing.T) {
	r, err := NewRolling(MaxLimit, time.Hour)
	require.NoError(t, err)
	mustTake(t, r, t0, MaxLimit-1)
	mustTake(t, r, t1, 1)
	ok, _ := r.TryAcquireAt(t2, 1)
	assert.False(t, ok)
	assert.Equal(t, int64(MaxLimit), r.RemainingAt(t0.Add(3*time.Hour)))
	mustTake(t, r, t0.Add(3*time.Hour), MaxLimit)
}

// TestRollingJumpForward: after a jump of days the pool is whole, the jump
// clears slots in one pass, and the window keeps counting correctly after it.
func TestRollingJumpForward(t *testing.T) {
	r := newTestRolling(t)
	for i := range 10 {
		mustTake(t, r, t0.Add(time.Duration(i)*time.Second), 1)
	}
	assert.Zero(t, r.RemainingAt(t0.Add(10*time.Second)))
	for _, jump := range []time.Duration{72 * time.Hour, 400 * 24 * time.Hour, 1 << 62} {
		at := t0.Add(jump)
		assert.Equal(t, int64(10), r.RemainingAt(at), "after %v", jump)
		mustTake(t, r, at, 10)
		ok, _ := r.TryAcquireAt(at.Add(5*time.Second), 1)
		assert.False(t, ok)
		assert.Equal(t, int64(10), r.RemainingAt(at.Add(11*time.Second)))
	}
}

// TestRollingJumpBackwards: a clock that goes back does not give credits back
// nor corrupt the slots; the credits are counted from the frontier.
func TestRollingJumpBackwards(t *testing.T) {
	r := newTestRolling(t)
	mustTake(t, r, t4, 5)
	mustTake(t, r, t0, 5) // stale: counted at the frontier, not at t0
	ok, _ := r.TryAcquireAt(t0.Add(-time.Hour), 1)
	assert.False(t, ok)
	// Credits taken at t0 are not back at t0+11s: they count from t4's slot.
	assert.Zero(t, r.RemainingAt(t0.Add(11*time.Second)))
	assert.Equal(t, int64(10), r.RemainingAt(t4.Add(11*time.Second)))
}

func TestRollingRefundStaleSlot(t *testing.T) {
	r := newTestRolling(t)
	mustTake(t, r, t0, 3)
	// A refund naming a slot that is already out of the window gives nothing.
	r.RefundAt(t4, t0, 3)
	assert.Equal(t, int64(10), r.RemainingAt(t4))
	mustTake(t, r, t4, 10)
	r.RefundAt(t4, t0, 3)
	assert.Zero(t, r.RemainingAt(t4))
	// A refund naming a future slot gives nothing either.
	r.RefundAt(t4, t9, 3)
	assert.Zero(t, r.RemainingAt(t4))
	r.RefundAt(t4, t4, 4)
	assert.Equal(t, int64(4), r.RemainingAt(t4))
}

// TestChargeHuge: a charge of up to MaxInt64 credits (a huge settled cost)
// takes what is left of the pool and no more, in every kind of window: the
// sum of the spent credits and the charge must not overflow into a charge
// that fits whole and corrupts the slot word.
func TestChargeHuge(t *testing.T) {
	roll := newTestRolling(t)
	fixed, err := NewFixed(10, time.Hour, 0, time.UTC)
	require.NoError(t, err)
	comp, err := NewCompound(newTestRolling(t), newTestRolling(t))
	require.NoError(t, err)
	for name, w := range map[string]Window{"rolling": roll, "fixed": fixed, "compound": comp} {
		t.Run(name, func(t *testing.T) {
			mustTake(t, w, t0, 4)
			assert.Equal(t, int64(6), w.ChargeAt(t1, math.MaxInt64), "the charge takes what is left")
			assert.Zero(t, w.RemainingAt(t1))
			assert.Zero(t, w.ChargeAt(t2, math.MaxInt64))
			ok, err := w.TryAcquireAt(t2, 1)
			require.NoError(t, err)
			assert.False(t, ok, "an exhausted pool admits nothing")
		})
	}
}

// TestTakeHugeKeep: a reserve near MaxInt64 keeps the whole pool, also once
// SetLimit has lowered the limit below what is spent: the limit less the
// reserve less the spent credits must not overflow into room for a take.
func TestTakeHugeKeep(t *testing.T) {
	for name, w := range takeKinds(t, 1000) {
		t.Run(name, func(t *testing.T) {
			mustTake(t, w, t0, 1000)
			part := w
			if c, ok := w.(*Compound); ok {
				part = c.Windows()[0]
			}
			require.NoError(t, part.SetLimit(100))
			for _, partial := range []bool{false, true} {
				x := w.TakeAt(t1, 50, math.MaxInt64, partial)
				assert.Zero(t, x.Took, "partial %v: took from a pool spent past its limit", partial)
			}
		})
	}
}

// TestQueriesAtTimesEnd: near the last instant a time.Time's UnixNano holds
// (2262), when credits come back is past it. ResetAt, AvailableAt and
// Returns must not wrap that around to an instant before now (ResetAt and
// AvailableAt said now while nothing was left, so Wait spun every
// millisecond instead of failing at once): they say the last instant.
func TestQueriesAtTimesEnd(t *testing.T) {
	end := time.Unix(0, math.MaxInt64)
	for _, length := range []time.Duration{24 * time.Hour, MaxLength} {
		r, err := NewRolling(10, length)
		require.NoError(t, err)
		now := end.Add(-time.Hour)
		mustTake(t, r, now, 10)
		assert.True(t, r.ResetAt(now).After(now), "%v: ResetAt %v, nothing left", length, r.ResetAt(now))
		at, err := r.AvailableAt(now, 1)
		require.NoError(t, err)
		assert.True(t, at.After(now), "%v: AvailableAt %v, nothing left", length, at)
		var sum int64
		for b, n := range r.Returns(now) {
			assert.True(t, b.After(now), "%v: %d credits back at %v", length, n, b)
			sum += n
		}
		assert.Equal(t, int64(10), sum)
		// Several slots due past the last instant share it: one entry.
		r2, err := NewRolling(10, length, WithSlots(4))
		require.NoError(t, err)
		for i := range 4 {
			mustTake(t, r2, end.Add(-length+time.Duration(i)*length/4), 1)
		}
		var got []time.Time
		for b := range r2.Returns(end) {
			got = append(got, b)
		}
		for i := 1; i < len(got); i++ {
			assert.True(t, got[i].After(got[i-1]), "%v: instants not increasing: %v", length, got)
		}
	}
}

// TestClockBeforeTimesStart: a clock gone back before 1678 (the first
// instant UnixNano holds) is a stale caller, counted where the window is.
// UnixNano wraps such instants around: 1600 read as 2184, a jump ahead that
// forgot every credit spent and admitted a second pool within the window.
func TestClockBeforeTimesStart(t *testing.T) {
	for _, back := range []time.Time{
		time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1677, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), {},
	} {
		for name, w := range takeKinds(t, 10) {
			mustTake(t, w, t0, 10)
			ok, err := w.TryAcquireAt(back, 1)
			require.NoError(t, err)
			assert.False(t, ok, "%s at %v: admitted from a spent pool", name, back)
			ok, err = w.TryAcquireAt(t1, 1)
			require.NoError(t, err)
			assert.False(t, ok, "%s after %v: admitted from a spent pool", name, back)
		}
	}
}

// TestUnixNanoInRange: within the seconds UnixNano holds whole, unixNano
// is it; past them, it reads within a second of the end, never wrapped.
func TestUnixNanoInRange(t *testing.T) {
	zone := time.FixedZone("x", 3600)
	for _, x := range []int64{-9223372035000000000, -1, 0, 1, 9223372035999999999, t0.UnixNano()} {
		assert.Equal(t, x, UnixNano(time.Unix(0, x).In(zone)))
	}
	for _, far := range []time.Time{{}, time.Date(1600, 1, 1, 0, 0, 0, 0, zone), time.Unix(0, math.MinInt64)} {
		assert.Less(t, UnixNano(far), int64(-9223372035000000000)+1e9, "%v", far)
	}
	for _, far := range []time.Time{time.Date(3000, 1, 1, 0, 0, 0, 0, zone), time.Unix(0, math.MaxInt64)} {
		assert.GreaterOrEqual(t, UnixNano(far), int64(9223372035000000000), "%v", far)
	}
}

// TestRollingReturns: the schedule Returns gives agrees with RemainingAt
// (its total is what is spent) and with AvailableAt (each instant is when the
// credits up to it are back), over random takes and refunds; and it counts
// what a lowered limit hides from RemainingAt.
func TestRollingReturns(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for seed := 0; seed < 50; seed++ {
		r, err := NewRolling(1000, time.Hour, WithSlots(12))
		require.NoError(t, err)
		now := t0
		for i := 0; i < 200; i++ {
			now = now.Add(time.Duration(rng.Int64N(int64(10 * time.Minute))))
			if rng.IntN(5) == 0 {
				r.RefundAt(now, now.Add(-time.Duration(rng.Int64N(int64(time.Hour)))), rng.Int64N(50))
			} else {
				_, _ = r.TryAcquireAt(now, 1+rng.Int64N(100))
			}
			rem := r.RemainingAt(now)
			var sum int64
			prev := now
			for at, n := range r.Returns(now) {
				require.True(t, at.After(prev), "seed %d step %d: instants not increasing after now", seed, i)
				require.Positive(t, n)
				sum += n
				if rem+sum <= r.Limit() {
					avail, err := r.AvailableAt(now, rem+sum)
					require.NoError(t, err)
					require.True(t, avail.Equal(at), "seed %d step %d: %d credits back at %v by Returns, %v by AvailableAt", seed, i, rem+sum, at, avail)
				}
				prev = at
			}
			require.Equal(t, r.Limit()-rem, sum, "seed %d step %d: the schedule's total", seed, i)
		}
	}
	r := newTestRolling(t)
	mustTake(t, r, t0, 10)
	require.NoError(t, r.SetLimit(4))
	var sum int64
	for _, n := range r.Returns(t1) {
		sum += n
	}
	assert.Equal(t, int64(10), sum, "a lowered limit hides nothing from Returns")
	assert.Zero(t, r.RemainingAt(t1))
}

// The ring a day's window allocates at its first roll is one object: a
// header (the pointers to the 32-bit and 64-bit tiers, nil) and 96 21-bit
// lanes, three to a 64-bit word, 272 bytes, in the 288-byte size class
// (issue #17; 64-bit words took 768, 32-bit ones 416).
func TestRingBytes(t *testing.T) {
	const n = 1000
	ws := make([]*Rolling, n)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range ws {
		r, err := NewRolling(100, 24*time.Hour)
		require.NoError(t, err)
		_, err = r.TryAcquireAt(at, 1)
		require.NoError(t, err)
		ws[i] = r
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, r := range ws {
		_, err := r.TryAcquireAt(at.Add(15*time.Minute), 1) // the first roll: the ring
		require.NoError(t, err)
	}
	runtime.ReadMemStats(&after)
	// 288 each, and a few bytes of the test's own (the heap's bookkeeping).
	if per, objs := (after.TotalAlloc-before.TotalAlloc)/n, (after.Mallocs-before.Mallocs)/n; per < 288 || per > 310 || objs != 1 {
		t.Fatalf("the first roll allocates %d B in %d objects per window, want 288 in 1", per, objs)
	}
	runtime.KeepAlive(ws)
}
