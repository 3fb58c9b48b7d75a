package window

import (
	"math"
	"testing"
	"time"
	_ "time/tzdata" // the DST tests must not depend on the machine's zoneinfo

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func losAngeles(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/Los_Angeles")
	require.NoError(t, err)
	return loc
}

func TestNewFixedRejects(t *testing.T) {
	for _, tc := range []struct {
		limit          int64
		period, offset time.Duration
		loc            *time.Location
		want           error
	}{
		{0, day, 0, time.UTC, ErrInvalidLimit},
		{MaxLimit + 1, day, 0, time.UTC, ErrInvalidLimit},
		{1, 0, 0, time.UTC, ErrInvalidLength},
		{1, -day, 0, time.UTC, ErrInvalidLength},
		{1, 5 * time.Hour, 0, time.UTC, ErrInvalidLength},
		{1, 36 * time.Hour, 0, time.UTC, ErrInvalidLength},
		{1, day, -time.Second, time.UTC, ErrInvalidReset},
		{1, day, day, time.UTC, ErrInvalidReset},
		{1, day, 0, nil, ErrNilLocation},
	} {
		f, err := NewFixed(tc.limit, tc.period, tc.offset, tc.loc)
		assert.ErrorIs(t, err, tc.want, "%+v", tc)
		assert.Nil(t, f)
	}
}

// periodAt returns the bounds of the period containing at.
func periodAt(f *Fixed, at time.Time) (start, end time.Time) {
	p := f.periodOf(at)
	return time.Unix(0, p.start).In(f.loc), time.Unix(0, p.end).In(f.loc)
}

// TestFixedDST: with a reset at 00:00 America/Los_Angeles, the spring-forward
// day is 23 hours long and the fall-back day 25, and each reset is at local
// midnight.
func TestFixedDST(t *testing.T) {
	la := losAngeles(t)
	f, err := NewFixed(10, day, 0, la)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		at   time.Time
		want time.Duration
	}{
		{"ordinary day", time.Date(2026, 3, 2, 15, 0, 0, 0, la), 24 * time.Hour},
		{"spring forward", time.Date(2026, 3, 8, 12, 0, 0, 0, la), 23 * time.Hour},
		{"spring forward, before the gap", time.Date(2026, 3, 8, 1, 59, 0, 0, la), 23 * time.Hour},
		{"fall back", time.Date(2026, 11, 1, 12, 0, 0, 0, la), 25 * time.Hour},
		{"fall back, second 01:30", time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC), 25 * time.Hour},
	} {
		s, e := periodAt(f, tc.at)
		assert.Equal(t, tc.want, e.Sub(s), tc.name)
		assert.False(t, tc.at.Before(s) || !tc.at.Before(e), "%s: %v not in [%v, %v)", tc.name, tc.at, s, e)
		y, m, d := tc.at.In(la).Date()
		assert.Equal(t, time.Date(y, m, d, 0, 0, 0, 0, la), s, tc.name)
		h, mi, sec := e.Clock()
		assert.Equal(t, [3]int{0, 0, 0}, [3]int{h, mi, sec}, "%s: ends at local midnight", tc.name)
	}
}

// TestFixedSpringForwardBehaviour drives the pool across the 23-hour day.
func TestFixedSpringForwardBehaviour(t *testing.T) {
	la := losAngeles(t)
	f, err := NewFixed(10, day, 0, la)
	require.NoError(t, err)
	eve := time.Date(2026, 3, 7, 23, 59, 0, 0, la)
	mustTake(t, f, eve, 10)
	ok, _ := f.TryAcquireAt(eve.Add(59*time.Second), 1)
	assert.False(t, ok)
	midnight := time.Date(2026, 3, 8, 0, 0, 0, 0, la)
	assert.Equal(t, midnight, f.ResetAt(eve))
	mustTake(t, f, midnight, 10)
	late := midnight.Add(22*time.Hour + 59*time.Minute) // 23:59 PDT
	assert.Equal(t, 23, late.In(la).Hour())
	ok, _ = f.TryAcquireAt(late, 1)
	assert.False(t, ok, "still the 23-hour day")
	next := midnight.Add(23 * time.Hour)
	assert.Equal(t, time.Date(2026, 3, 9, 0, 0, 0, 0, la), next)
	assert.True(t, f.ResetAt(late).Equal(next))
	at, err := f.AvailableAt(late, 10)
	require.NoError(t, err)
	assert.True(t, at.Equal(next))
	mustTake(t, f, next, 10)
}

// TestFixedFallBackBehaviour: the 25-hour day does not reset at the second 01:00.
func TestFixedFallBackBehaviour(t *testing.T) {
	la := losAngeles(t)
	f, err := NewFixed(10, day, 0, la)
	require.NoError(t, err)
	midnight := time.Date(2026, 11, 1, 0, 0, 0, 0, la)
	mustTake(t, f, midnight, 10)
	ok, _ := f.TryAcquireAt(midnight.Add(24*time.Hour+30*time.Minute), 1) // 23:30 PST
	assert.False(t, ok)
	mustTake(t, f, midnight.Add(25*time.Hour), 10)
}

// TestFixedResetInTheGap: a reset at 02:30 does not exist on the spring-forward
// day; the periods around it are still contiguous and contain their instants.
func TestFixedResetInTheGap(t *testing.T) {
	la := losAngeles(t)
	f, err := NewFixed(1, day, 2*time.Hour+30*time.Minute, la)
	require.NoError(t, err)
	at := time.Date(2026, 3, 7, 12, 0, 0, 0, la)
	_, prevEnd := periodAt(f, at)
	for range 4 {
		s, e := periodAt(f, prevEnd)
		assert.Equal(t, prevEnd, s, "contiguous")
		assert.True(t, e.After(s))
		assert.InDelta(t, float64(day), float64(e.Sub(s)), float64(time.Hour))
		prevEnd = e
	}
}

// TestFixedSkippedDay: Samoa skipped 30 December 2011 (from 23:59:59 on
// the 29th, UTC-10, to 00:00 on the 31st, UTC+14). time.Date puts the
// missing day's midnight at the 29th's, whose clock reads 00:00 too, so the
// 29th's periods ended where they started: ResetAt and AvailableAt said the
// credits were back before now (Wait spun every millisecond all day) and
// RefundAt gave nothing back. The 29th ends when the clocks jump.
func TestFixedSkippedDay(t *testing.T) {
	apia, err := time.LoadLocation("Pacific/Apia")
	require.NoError(t, err)
	jump := time.Date(2011, 12, 31, 0, 0, 0, 0, apia)
	for _, c := range []struct {
		period time.Duration
		reset  time.Time
	}{{day, jump}, {8 * time.Hour, time.Date(2011, 12, 29, 8, 0, 0, 0, apia)}, {2 * day, jump}} {
		f, err := NewFixed(10, c.period, 0, apia)
		require.NoError(t, err)
		now := time.Date(2011, 12, 29, 4, 0, 0, 0, apia)
		mustTake(t, f, now, 10)
		assert.True(t, f.ResetAt(now).Equal(c.reset), "%v: ResetAt %v", c.period, f.ResetAt(now))
		at, err := f.AvailableAt(now, 1)
		require.NoError(t, err)
		assert.True(t, at.Equal(c.reset), "%v: AvailableAt %v", c.period, at)
		assert.Equal(t, int64(3), f.RefundAt(now, now, 3), "%v", c.period)
	}
}

// TestFixedSkippedDayTiles: with a reset after midnight, the skipped day's
// period runs from the jump to the 31st's reset. It was counted as the
// 31st's day, so the 31st's first period got the same id as the one before
// it: credits spent before 03:00 stayed spent until 05:00, while ResetAt
// said 03:00. Periods must tile, each with its own id.
func TestFixedSkippedDayTiles(t *testing.T) {
	apia, err := time.LoadLocation("Pacific/Apia")
	require.NoError(t, err)
	for _, period := range []time.Duration{3 * time.Hour, day} {
		f, err := NewFixed(10, period, 2*time.Hour, apia)
		require.NoError(t, err)
		p := f.periodOf(time.Date(2011, 12, 29, 12, 0, 0, 0, apia))
		for range 12 {
			q := f.periodOf(time.Unix(0, p.end))
			require.Equal(t, p.end, q.start, "%v: contiguous", period)
			require.Greater(t, q.end, q.start, "%v", period)
			require.Greater(t, q.id, p.id, "%v: [%v, %v) shares the id of the one before", period,
				time.Unix(0, q.start).In(apia), time.Unix(0, q.end).In(apia))
			p = q
		}
	}
}

// TestFixedAtTimesEnd: a period ending past the last instant UnixNano holds
// (2262) got an end wrapped around to 1677: ResetAt and AvailableAt said
// the credits were back long before now, RefundAt gave nothing back. The
// period ends at the last instants instead (see unixNano).
func TestFixedAtTimesEnd(t *testing.T) {
	end := time.Unix(0, math.MaxInt64).UTC()
	f, err := NewFixed(10, day, 0, time.UTC)
	require.NoError(t, err)
	now := end.Add(-time.Hour)
	mustTake(t, f, now, 10)
	assert.True(t, f.ResetAt(now).After(now), "ResetAt %v", f.ResetAt(now))
	at, err := f.AvailableAt(now, 1)
	require.NoError(t, err)
	assert.True(t, at.After(now), "AvailableAt %v", at)
	assert.Equal(t, int64(3), f.RefundAt(now, now, 3))
}

func TestFixedWeeklyAndHourly(t *testing.T) {
	la := losAngeles(t)
	week, err := NewFixed(5, 7*day, 9*time.Hour, la)
	require.NoError(t, err)
	s, e := periodAt(week, time.Date(2026, 3, 5, 12, 0, 0, 0, la))
	assert.Equal(t, 7*day-time.Hour, e.Sub(s), "the week holding the spring-forward day")
	assert.Equal(t, 9, s.Hour())
	assert.Equal(t, s.Weekday(), e.Weekday())
	s2, _ := periodAt(week, e)
	assert.Equal(t, e, s2)

	hour, err := NewFixed(5, time.Hour, 0, la)
	require.NoError(t, err)
	first := time.Date(2026, 11, 1, 8, 30, 0, 0, time.UTC) // 01:30 PDT
	second := first.Add(time.Hour)                         // 01:30 PST
	p1, p2 := hour.periodOf(first), hour.periodOf(second)
	assert.NotEqual(t, p1.id, p2.id, "the repeated 01:00 hour is a period of its own")
	assert.Equal(t, int64(time.Hour), p1.end-p1.start)
	assert.Equal(t, p1.end, p2.start)
	mustTake(t, hour, first, 5)
	mustTake(t, hour, second, 5)
}

func TestFixedStaleCallerCountsInCurrentPeriod(t *testing.T) {
	f, err := NewFixed(10, day, 0, time.UTC)
	require.NoError(t, err)
	today := start
	yesterday := start.Add(-day)
	mustTake(t, f, today, 6)
	mustTake(t, f, yesterday, 4) // counted today
	ok, _ := f.TryAcquireAt(yesterday, 1)
	assert.False(t, ok)
	assert.Zero(t, f.RemainingAt(today))
	f.RefundAt(today, yesterday, 4) // spent is not in today's period: nothing
	assert.Zero(t, f.RemainingAt(today))
	f.RefundAt(today, today, 4)
	assert.Equal(t, int64(4), f.RemainingAt(today))
	assert.Equal(t, int64(10), f.RemainingAt(today.Add(day)))
}

// TestFixedResetAtMidnightGap: in zones whose clocks jump forward at
// midnight (America/Havana, America/Santiago), Sunday 00:00 does not exist
// and time.Date puts it on Saturday at 23:00. Sunday's period must still be
// Sunday's: it starts when the clocks jump, Saturday's spending does not
// count in it, and its reset is in the future. Hourly periods of the two
// days must differ too.
func TestFixedResetAtMidnightGap(t *testing.T) {
	for _, tc := range []struct {
		zone     string
		sat, sun time.Time
	}{
		{"America/Havana", time.Date(2024, 3, 9, 12, 0, 0, 0, time.UTC), time.Date(2024, 3, 10, 16, 0, 0, 0, time.UTC)},
		{"America/Santiago", time.Date(2024, 9, 7, 16, 0, 0, 0, time.UTC), time.Date(2024, 9, 8, 16, 0, 0, 0, time.UTC)},
	} {
		loc, err := time.LoadLocation(tc.zone)
		require.NoError(t, err)
		f, err := NewFixed(10, day, 0, loc)
		require.NoError(t, err)
		mustTake(t, f, tc.sat, 10)
		ok, err := f.TryAcquireAt(tc.sun, 1)
		require.NoError(t, err)
		assert.True(t, ok, "%s: Sunday refused: Saturday's spending still counts", tc.zone)
		assert.True(t, f.ResetAt(tc.sun).After(tc.sun), "%s: reset %v is not after %v", tc.zone, f.ResetAt(tc.sun), tc.sun)
		mustTake(t, f, tc.sun, 9)
		av, err := f.AvailableAt(tc.sun, 10)
		require.NoError(t, err)
		assert.True(t, av.After(tc.sun), "%s: AvailableAt %v is not after %v", tc.zone, av, tc.sun)
	}
	loc, err := time.LoadLocation("America/Havana")
	require.NoError(t, err)
	f, err := NewFixed(10, time.Hour, 0, loc)
	require.NoError(t, err)
	sat, sun := f.periodOf(time.Date(2024, 3, 9, 10, 30, 0, 0, loc)), f.periodOf(time.Date(2024, 3, 10, 10, 30, 0, 0, loc))
	assert.NotEqual(t, sat.id, sun.id, "Saturday's and Sunday's 10:30 share a period")
	assert.Less(t, sun.start, sun.end)
	assert.Less(t, time.Date(2024, 3, 10, 10, 30, 0, 0, loc).UnixNano(), sun.end)
}

// TestFixedLongDay: Antarctica/Troll's clocks move by two hours, so its
// fall-back day lasts 26 hours; the last period of that day and the first of
// the next must still be two periods.
func TestFixedLongDay(t *testing.T) {
	loc, err := time.LoadLocation("Antarctica/Troll")
	require.NoError(t, err)
	f, err := NewFixed(10, 30*time.Minute, 0, loc)
	require.NoError(t, err)
	next := time.Date(2024, 10, 28, 0, 0, 0, 0, loc)
	require.Equal(t, 26*time.Hour, next.Sub(time.Date(2024, 10, 27, 0, 0, 0, 0, loc)))
	mustTake(t, f, next.Add(-10*time.Minute), 10)
	ok, err := f.TryAcquireAt(next.Add(10*time.Minute), 1)
	require.NoError(t, err)
	assert.True(t, ok, "the next day's first period shares the long day's last one")
}
