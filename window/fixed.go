package window

import (
	"iter"
	"math"
	"sync/atomic"
	"time"
)

const day = 24 * time.Hour

// Fixed is a calendar window: the whole pool comes back at once at a wall-clock
// time in a location, such as 00:00 in America/Los_Angeles (Zoho's old daily
// reset). Boundaries are computed with time.Date in the location, so the day
// around a DST change is 23 or 25 hours long, as the calendar says.
//
// A period is either a whole number of days (boundaries at the reset time every
// period/24h days, counted from 1970-01-01 in the location's calendar) or a
// divisor of a day (boundaries every period of elapsed time from each day's
// reset; the day's last period ends at the next reset, so it is short on a 23 h
// day, and a 25 h day has extra periods).
//
// The hot path is one compare-and-swap on a word packing the period's number
// with the credits spent in it; the period's bounds are cached behind an atomic
// pointer, recomputed (one small allocation) once per period. A caller whose now
// is in an older period than the current one is counted in the current one.
//
// Period numbers are kept modulo 2^23 beside the spent count: a window idle for
// a whole multiple of 2^23 numbers would count its old spending once more, for
// one period (conservative, never an over-admission). A period of a day or
// more has one number per period; shorter ones are numbered 48h/period+1 a
// day (room for the longest civil day), so the numbers repeat after about
// 2^22 periods: 48 days of 1 s periods.
//
// A Fixed must be made by NewFixed; methods on the zero value panic.
type Fixed struct {
	state atomic.Uint64 // period id (tagBits) << amountBits | credits spent in it
	limit atomic.Int64
	cur   atomic.Pointer[period]

	period  time.Duration
	resetAt time.Duration
	loc     *time.Location
}

// period is one immutable period: its id and bounds in Unix nanoseconds.
type period struct {
	id         uint64
	start, end int64
}

// NewFixed returns a calendar window of limit credits per period that resets
// at wall-clock offset resetAt (0 = midnight) in loc. period must be a whole
// number of days or divide a day; resetAt must be within [0, 24h).
func NewFixed(limit int64, period time.Duration, resetAt time.Duration, loc *time.Location) (*Fixed, error) {
	if limit <= 0 || limit > MaxLimit {
		return nil, ErrInvalidLimit
	}
	if period <= 0 || (period%day != 0 && day%period != 0) {
		return nil, ErrInvalidLength
	}
	if resetAt < 0 || resetAt >= day {
		return nil, ErrInvalidReset
	}
	if loc == nil {
		return nil, ErrNilLocation
	}
	f := &Fixed{period: period, resetAt: resetAt, loc: loc}
	f.limit.Store(limit)
	return f, nil
}

// Limit reports the pool size.
func (f *Fixed) Limit() int64 { return f.limit.Load() }

// SetLimit changes the pool size; what is spent in the current period stays spent.
func (f *Fixed) SetLimit(limit int64) error {
	if limit <= 0 || limit > MaxLimit {
		return ErrInvalidLimit
	}
	f.limit.Store(limit)
	return nil
}

// boundary is the reset instant of local calendar day (y, m, d), normalised.
func (f *Fixed) boundary(y int, m time.Month, d int) time.Time {
	r := f.resetAt
	h, mi, s, ns := int(r/time.Hour), int(r%time.Hour/time.Minute), int(r%time.Minute/time.Second), int(r%time.Second)
	b := time.Date(y, m, d, h, mi, s, ns, f.loc)
	want := wall(time.Date(y, m, d, h, mi, s, ns, time.UTC))
	if wall(b) == want { // the date too: a skipped day's reset reads as the day before's
		return b
	}
	// The reset time does not exist that day: the clocks jumped over it
	// (in America/Havana, say, from 00:00 to 01:00, or over the whole day
	// in Pacific/Apia on 30 December 2011). time.Date then picks an instant
	// on either side, maybe on the day before, which would merge the two
	// days' periods. The period starts when the clocks jump: the end of b's
	// zone if b is before the jump, else its start.
	start, end := b.ZoneBounds()
	if wall(b) < want {
		if !end.IsZero() {
			return end
		}
	} else if !start.IsZero() {
		return start
	}
	return b
}

// wall is t's local clock reading as nanoseconds since 1970 (not an instant).
func wall(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC).UnixNano()
}

// maxDay bounds the length of a civil day in any zone (see periodOf).
const maxDay = 48 * time.Hour

// dayNumber counts civil days from 1970-01-01 to (y, m, d).
func dayNumber(y int, m time.Month, d int) int64 {
	return time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Unix() / 86400
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// periodOf computes the period containing t from the calendar.
//
// Past either end of what UnixNano holds, t counts as the instant it
// reads as (1600 as 1678's first second, 2600 as 2262's last), as in the
// rolling windows, and a bound past an end is the farthest reading, so
// that the period holds every instant that reads inside it. Bounds read
// as UnixNano would make a period wholly past an end empty ([1678, 1678)
// for 1600) and end the one across the high end before its last second's
// nanoseconds: RefundAt would find spent outside it, and past 2262 the
// next real period would start a fresh pool at an instant read as 2262.
func (f *Fixed) periodOf(t time.Time) *period {
	if s := t.Unix(); s < -unixSecs || s > unixSecs {
		t = time.Unix(0, UnixNano(t))
	}
	lt := t.In(f.loc)
	y, m, d := lt.Date()
	b := f.boundary(y, m, d)
	if t.Before(b) {
		d--
		b = f.boundary(y, m, d)
	}
	// The day's date, normalised (d may be 0): not b's, which for a
	// skipped day is the next day's (see boundary).
	y, m, d = time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Date()
	n := dayNumber(y, m, d)
	if f.period >= day {
		k := int64(f.period / day)
		j := floorDiv(n, k)
		first := j*k - n // days from (y, m, d) to the period's first day
		start := f.boundary(y, m, d+int(first))
		end := f.boundary(y, m, d+int(first+k))
		return &period{id: uint64(j), start: boundNano(start), end: boundNano(end)}
	}
	next := f.boundary(y, m, d+1)
	off := t.Sub(b)
	j := off / f.period
	start := b.Add(j * f.period)
	end := start.Add(f.period)
	if end.After(next) {
		end = next
	}
	// Ids count perDay slots a day: enough for the longest civil day (26
	// hours in Antarctica/Troll, whose clocks move by two; more after a
	// zone's own date-line change), so that no two periods share one.
	perDay := int64(maxDay/f.period) + 1
	return &period{id: uint64(n*perDay + int64(j)), start: boundNano(start), end: boundNano(end)}
}

// boundNano is a period bound b as UnixNano reads it, or the farthest
// reading if b is past an end (see periodOf).
func boundNano(b time.Time) int64 {
	switch s := b.Unix(); {
	case s < -unixSecs:
		return math.MinInt64
	case s > unixSecs:
		return math.MaxInt64
	}
	return b.UnixNano()
}

// current returns the cached period for t, moving it forward when t has left
// it. A t before the cached period gets the cached (newer) one.
func (f *Fixed) current(t time.Time, tn int64) *period {
	for {
		p := f.cur.Load()
		if p != nil && tn < p.end {
			return p
		}
		np := f.periodOf(t)
		if p != nil && np.start <= p.start {
			return p
		}
		if f.cur.CompareAndSwap(p, np) {
			return np
		}
	}
}

// TryAcquireAt takes n credits at now if all n remain in now's period.
func (f *Fixed) TryAcquireAt(now time.Time, n int64) (bool, error) {
	if n <= 0 {
		return false, ErrInvalidCount
	}
	if n > f.limit.Load() {
		return false, ErrExceedsLimit
	}
	return f.TakeAt(now, n, 0, false).Took != 0, nil
}

// TakeAt takes n credits at now, leaving at least keep of the limit untaken:
// all n or nothing, or with partial as many as fit. The Take it returns is
// read in the same atomic step as the change. n <= 0 takes nothing.
func (f *Fixed) TakeAt(now time.Time, n, keep int64, partial bool) Take {
	t, _ := f.stepTok(now, n, keep, partial)
	return t
}

func (f *Fixed) stepTok(now time.Time, n, keep int64, partial bool) (Take, uint64) {
	L := f.limit.Load()
	took, id, spent := f.take(now, max(n, 0), under(L, keep), partial)
	return Take{Took: took, Spent: spent, Remaining: max(L-spent, 0)}, id
}

// ChargeAt takes up to n credits at now, as many as remain, and returns how many.
func (f *Fixed) ChargeAt(now time.Time, n int64) int64 {
	return f.TakeAt(now, n, 0, true).Took
}

// load returns the state word, the credits spent in it that count, and the
// period they count in. The state's period is never newer than the newest
// cached period, so a mismatch with the newest one means the state has reset;
// a mismatch with an older p means a newer period exists, and the caller is
// counted there.
func (f *Fixed) load(p *period) (x, used uint64, _ *period) {
	for {
		x = f.state.Load()
		if x>>amountBits == p.id&tagMask {
			return x, x & amountMask, p
		}
		q := f.cur.Load()
		if q == p {
			return x, 0, p
		}
		p = q
	}
}

// take charges n credits (or, if partial, as many as fit under the limit L)
// and returns what it took, the period charged and what is spent after.
func (f *Fixed) take(now time.Time, n, L int64, partial bool) (int64, uint64, int64) {
	p := f.current(now, UnixNano(now))
	for {
		x, used, q := f.load(p)
		p = q
		k := fit(int64(used), n, L, partial)
		if k == 0 {
			return 0, p.id, int64(used)
		}
		if f.state.CompareAndSwap(x, (p.id&tagMask)<<amountBits|(used+uint64(k))) {
			return k, p.id, int64(used) + k
		}
	}
}

// RefundAt gives back up to n credits if spent is in the period current at
// now, and returns how many it gave back.
func (f *Fixed) RefundAt(now, spent time.Time, n int64) int64 {
	if n <= 0 {
		return 0
	}
	p := f.current(now, UnixNano(now))
	if sn := UnixNano(spent); sn < p.start || sn >= p.end {
		return 0
	}
	return f.refundTok(p.id, n)
}

func (f *Fixed) refundTok(id uint64, n int64) int64 {
	for n > 0 {
		x := f.state.Load()
		if x>>amountBits != id&tagMask {
			return 0
		}
		k := min(uint64(n), x&amountMask)
		if k == 0 || f.state.CompareAndSwap(x, x-k) {
			return int64(k)
		}
	}
	return 0
}

// RemainingAt reports the credits left in now's period.
func (f *Fixed) RemainingAt(now time.Time) int64 {
	_, used, _ := f.load(f.current(now, UnixNano(now)))
	return max(f.limit.Load()-int64(used), 0)
}

// ResetAt reports the end of now's period, or now if nothing is spent in it.
func (f *Fixed) ResetAt(now time.Time) time.Time {
	_, used, p := f.load(f.current(now, UnixNano(now)))
	if used == 0 {
		return now
	}
	return time.Unix(0, p.end).In(now.Location())
}

// AvailableAt reports now if n credits remain, else the end of now's period.
func (f *Fixed) AvailableAt(now time.Time, n int64) (time.Time, error) {
	if n <= 0 {
		return time.Time{}, ErrInvalidCount
	}
	L := f.limit.Load()
	if n > L {
		return time.Time{}, ErrExceedsLimit
	}
	_, used, p := f.load(f.current(now, UnixNano(now)))
	if L-int64(used) >= n {
		return now, nil
	}
	return time.Unix(0, p.end).In(now.Location()), nil
}

// Period reports the period length (a day around a DST change may differ).
func (f *Fixed) Period() time.Duration { return f.period }

// Returns is the window's state at now as a schedule, as Rolling.Returns:
// everything spent in now's period comes back at its end (one entry, none
// when nothing is spent), also beyond a limit lowered by SetLimit.
func (f *Fixed) Returns(now time.Time) iter.Seq2[time.Time, int64] {
	return func(yield func(time.Time, int64) bool) {
		_, used, p := f.load(f.current(now, UnixNano(now)))
		if used > 0 {
			yield(time.Unix(0, p.end).In(now.Location()), int64(used))
		}
	}
}
