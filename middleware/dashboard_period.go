package middleware

import (
	"time"

	"github.com/creditgate/creditgate/usage"
)

// Periods the dashboard shows, as Zoho's API dashboard offers them, in the
// dashboard's time zone ([WithLocation]).
const (
	period24h       = "24h"       // the last 24 hours, the current one included
	periodToday     = "today"     // today, hour by hour
	periodYesterday = "yesterday" // yesterday, hour by hour
	period30d       = "30d"       // the last 30 days, today included, day by day
	periodDate      = "date"      // one day (?date=YYYY-MM-DD), hour by hour
)

// period is a span of whole hours, [since, until), cut into steps.
//
// The statistics are kept in hours of UTC. A local day is the hours that
// start in it: exact where the zone's offset is whole hours; where it is
// not (India's +05:30), a day's hours run from the first hour starting
// after its midnight.
type period struct {
	name, label  string
	since, until time.Time // whole hours
	days         int       // the local days it covers, for the average per day
	step         time.Duration
	bounds       []time.Time // the steps' starts and the end: hours, or the days' first hours
}

// dateLayout is the layout of ?date=.
const dateLayout = "2006-01-02"

// newPeriod returns the period name (and date, for periodDate) at now in loc;
// retention bounds how old a date may be.
func newPeriod(name, date string, now time.Time, loc *time.Location, retention time.Duration) (period, *dashError) {
	y, m, d := now.In(loc).Date()
	switch name {
	case period24h:
		until := now.Truncate(time.Hour).Add(time.Hour)
		return periodHours(name, "Last 24 hours", until.Add(-24*time.Hour), until, 1), nil
	case periodToday:
		return periodDay(name, "Today", y, m, d, loc), nil
	case periodYesterday:
		return periodDay(name, "Yesterday", y, m, d-1, loc), nil
	case period30d:
		return periodDays(name, "Last 30 days", y, m, d-29, 30, loc), nil
	case periodDate:
		day, err := time.Parse(dateLayout, date) // the calendar day; its start is loc's
		switch {
		case err != nil:
			return period{}, bad("date must be a day as YYYY-MM-DD")
		case day.After(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)):
			return period{}, bad("date is in the future")
		case !dayStart(day.Year(), day.Month(), day.Day()+1, loc).After(now.Add(-retention)):
			return period{}, bad("date is older than the statistics keep")
		}
		return periodDay(name, day.Format("Mon 2 Jan 2006"), day.Year(), day.Month(), day.Day(), loc), nil
	}
	return period{}, bad("period must be one of 24h, today, yesterday, 30d, date")
}

// dayStart returns the first instant of the local day y-m-d in loc (the
// date normalised as time.Date does). Where the clocks skip midnight,
// time.Date gives for it the day before's last hour (Havana's 23:00,
// read with the offset that begins at midnight), or for a day skipped
// whole (Samoa's 30 December 2011) the day before's midnight: the day
// starts when the clocks jump. Days are counted on the calendar, never by
// AddDate from such an instant (which keeps its clock: Beirut's day that
// starts at 01:00 would make every other day start at 01:00).
func dayStart(y int, m time.Month, d int, loc *time.Location) time.Time {
	y, m, d = time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Date() // normalised: 1 March for 29 February 2026, say
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if ty, tm, td := t.Date(); ty != y || tm != m || td != d {
		if _, end := t.ZoneBounds(); !end.IsZero() && end.After(t) {
			return end // t is in a day before, in the zone that ends when the day starts
		}
	}
	return t
}

// ceilHour returns t rounded up to a whole hour.
func ceilHour(t time.Time) time.Time {
	if h := t.Truncate(time.Hour); !h.Equal(t) {
		return h.Add(time.Hour)
	}
	return t
}

func periodHours(name, label string, since, until time.Time, days int) period {
	p := period{name: name, label: label, since: since, until: until, days: days, step: time.Hour}
	for h := since; !h.After(until); h = h.Add(time.Hour) {
		p.bounds = append(p.bounds, h)
	}
	return p
}

// periodDay is the local day y-m-d, hour by hour.
func periodDay(name, label string, y int, m time.Month, d int, loc *time.Location) period {
	return periodHours(name, label, ceilHour(dayStart(y, m, d, loc)), ceilHour(dayStart(y, m, d+1, loc)), 1)
}

// periodDays is n local days from y-m-d, day by day.
func periodDays(name, label string, y int, m time.Month, d, n int, loc *time.Location) period {
	p := period{name: name, label: label, days: n, step: 24 * time.Hour}
	for i := 0; i <= n; i++ {
		p.bounds = append(p.bounds, ceilHour(dayStart(y, m, d+i, loc)))
	}
	p.since, p.until = p.bounds[0], p.bounds[n]
	return p
}

// bucket sums hourly points into the period's steps.
func (p period) bucket(pts []usage.Point) []usage.Count {
	out := make([]usage.Count, len(p.bounds)-1)
	i := 0
	for _, pt := range pts {
		for i < len(out) && !pt.Hour.Before(p.bounds[i+1]) {
			i++
		}
		if i == len(out) {
			break
		}
		if pt.Hour.Before(p.bounds[i]) {
			continue
		}
		out[i].Add(usage.Count{Credits: pt.Credits, Calls: pt.Calls, Refused: pt.Refused}) // saturating
	}
	return out
}
