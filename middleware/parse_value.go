package middleware

import (
	"net/http"
	"strings"
	"time"
)

// maxCount bounds parsed integers so that later arithmetic (seconds to
// nanoseconds, sums of credits) cannot overflow.
const maxCount = 1 << 53

// maxHorizon bounds every parsed duration and reset: no pool in these
// dialects is longer than a year, and a value beyond one is taken for a
// mistake (milliseconds sent as seconds) or hostile, and ignored, rather than
// left to park a client for decades.
const maxHorizon = 366 * 24 * time.Hour

// epochCutoff separates a delay from a Unix time in X-RATELIMIT-RESET: no
// credit window is 31 years long, and no reset instant lies before 2001.
const epochCutoff = 1_000_000_000

// parseCount reads a non-negative decimal integer with optional surrounding
// spaces and no sign.
func parseCount(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 16 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if n > maxCount {
		return 0, false
	}
	return n, true
}

// singleCount reads a field that holds one integer. A proxy may have sent it
// as several lines or joined them with commas: every copy must agree.
func singleCount(lines []string) (int64, bool) {
	var n int64
	first := true
	for _, line := range lines {
		for rest := line; ; {
			item, tail, more := strings.Cut(rest, ",")
			v, ok := parseCount(item)
			if !ok || (!first && v != n) {
				return 0, false
			}
			n, first, rest = v, false, tail
			if !more {
				break
			}
		}
	}
	return n, !first
}

// within converts n units to a Duration in (0, maxHorizon] (or [0, ...]
// when zero is allowed), refusing anything longer before multiplying.
func within(n int64, unit time.Duration, zeroOK bool) (time.Duration, bool) {
	if n < 0 || n > int64(maxHorizon/unit) || (n == 0 && !zeroOK) {
		return 0, false
	}
	return time.Duration(n) * unit, true
}

// resetAt reads X-RATELIMIT-RESET: seconds from now below epochCutoff, a
// Unix time from it (epoch true). A Unix time in the past is now (the server
// says the credits are back, and the clocks differ); one more than
// maxHorizon away on either side is refused.
func resetAt(now time.Time, v int64) (t time.Time, epoch, ok bool) {
	if v < epochCutoff {
		d, ok := within(v, time.Second, true)
		if !ok {
			return time.Time{}, false, false
		}
		return now.Add(d), false, true
	}
	t = time.Unix(v, 0).In(now.Location())
	if t.Before(now.Add(-maxHorizon)) || t.After(now.Add(maxHorizon)) {
		return time.Time{}, true, false
	}
	if t.Before(now) {
		t = now
	}
	return t, true, true
}

// parseRetryAfter reads delay-seconds or an HTTP-date (a date in the past is
// a zero delay).
func parseRetryAfter(now time.Time, s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if n, ok := parseCount(s); ok {
		return within(n, time.Second, true)
	}
	t, ok := parseIMFFixdate(s)
	if !ok {
		var err error
		if t, err = http.ParseTime(s); err != nil {
			return 0, false
		}
	}
	return within(int64(max(t.Sub(now), 0)), 1, true)
}

// parseIMFFixdate reads the HTTP-date form servers must send, "Sun, 06 Nov
// 1994 08:49:37 GMT", without the allocation time.Parse makes for the GMT
// zone. It accepts only what http.ParseTime accepts, with the same result
// (FuzzIMFFixdate); other forms are left to http.ParseTime.
func parseIMFFixdate(s string) (time.Time, bool) {
	if len(s) != 29 || s[3:5] != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
		s[19] != ':' || s[22] != ':' || s[25:] != " GMT" {
		return time.Time{}, false
	}
	if d := strings.Index(dayNames, s[:3]); d < 0 || d%4 != 0 {
		return time.Time{}, false
	}
	month := strings.Index(monthNames, s[8:11])
	day, ok1 := digits(s[5:7])
	year, ok2 := digits(s[12:16])
	hour, ok3 := digits(s[17:19])
	minute, ok4 := digits(s[20:22])
	sec, ok5 := digits(s[23:25])
	if month < 0 || month%3 != 0 || !(ok1 && ok2 && ok3 && ok4 && ok5) ||
		day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	m := time.Month(month/3 + 1)
	t := time.Date(year, m, day, hour, minute, sec, 0, time.UTC)
	if t.Day() != day { // past the month's end: time.Date normalized it
		return time.Time{}, false
	}
	return t, true
}

const (
	dayNames   = "Mon Tue Wed Thu Fri Sat Sun"
	monthNames = "JanFebMarAprMayJunJulAugSepOctNovDec"
)

// digits reads a fixed-width run of decimal digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}
