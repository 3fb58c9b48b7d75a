package window

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// zoneNames lists the zones of the system's zoneinfo (or a few known ones).
func zoneNames(t *testing.T) []string {
	var names []string
	root := "/usr/share/zoneinfo"
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		n := strings.TrimPrefix(p, root+"/")
		if strings.HasPrefix(n, "posix") || strings.HasPrefix(n, "right") || strings.Contains(n, ".") || !strings.ContainsAny(n[:1], "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			return nil
		}
		if _, err := time.LoadLocation(n); err == nil {
			names = append(names, n)
		}
		return nil
	})
	if len(names) == 0 {
		names = []string{"America/New_York", "Europe/London", "Australia/Lord_Howe", "Pacific/Apia", "America/Havana", "Antarctica/Troll"}
	}
	return names
}

// In every zone, the periods tile time: the period of t holds t, the next
// one starts where it ends, and their ids strictly increase, across DST
// changes, skipped days and reset times in a gap.
func TestFixedPeriodsTileEveryZone(t *testing.T) {
	names := zoneNames(t)
	r := rand.New(rand.NewPCG(54, 1))
	periods := []time.Duration{day, 2 * day, 7 * day, time.Hour, 30 * time.Minute, 8 * time.Hour, 45 * time.Minute, 20 * time.Minute}
	resets := []time.Duration{0, 30 * time.Minute, 2*time.Hour + 30*time.Minute, 3 * time.Hour, 23*time.Hour + 59*time.Minute}
	for _, name := range names {
		loc, _ := time.LoadLocation(name)
		per := periods[r.IntN(len(periods))]
		reset := resets[r.IntN(len(resets))]
		f, err := NewFixed(10, per, reset, loc)
		if err != nil {
			t.Fatal(err)
		}
		// Walk a year with transitions in many zones (2011 has Apia's
		// skipped day), period by period.
		// Walk from a few days before each of the zone's changes in
		// 2011 and 2012 (Apia's skipped day is on 30 December 2011).
		for tr := time.Date(2011, 1, 1, 0, 0, 0, 0, loc); tr.Year() < 2013; {
			_, end := tr.ZoneBounds()
			if end.IsZero() {
				break
			}
			tr = end
			start := end.Add(-3*day + time.Duration(r.Int64N(int64(day))))
			walkPeriods(t, f, name, start, end.Add(3*day), r)
		}
		walkPeriods(t, f, name, time.Date(2012, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2012, 1, 5, 0, 0, 0, 0, time.UTC), r)
	}
}

func walkPeriods(t *testing.T, f *Fixed, name string, start, stop time.Time, r *rand.Rand) {
	t.Helper()
	per, reset, loc := f.period, f.resetAt, f.loc
	{
		p := f.periodOf(start)
		for steps := 0; p.end <= unixNano(stop); steps++ {
			if p.start >= p.end {
				t.Fatalf("%s per %v reset %v: empty period [%v, %v)", name, per, reset, time.Unix(0, p.start), time.Unix(0, p.end))
			}
			// a random instant inside maps to p
			mid := time.Unix(0, p.start+r.Int64N(p.end-p.start))
			if q := f.periodOf(mid); q.id != p.id || q.start != p.start || q.end != p.end {
				t.Fatalf("%s per %v reset %v: %v in [%v, %v) id %d gets [%v, %v) id %d", name, per, reset, mid, time.Unix(0, p.start), time.Unix(0, p.end), p.id, time.Unix(0, q.start), time.Unix(0, q.end), q.id)
			}
			last := time.Unix(0, p.end-1)
			if q := f.periodOf(last); q.id != p.id {
				t.Fatalf("%s per %v reset %v: last instant %v of [%v, %v) gets id %d, not %d", name, per, reset, last, time.Unix(0, p.start), time.Unix(0, p.end), q.id, p.id)
			}
			n := f.periodOf(time.Unix(0, p.end))
			if n.start != p.end || n.id <= p.id || n.id&tagMask == p.id&tagMask {
				t.Fatalf("%s per %v reset %v: after [%v, %v) id %d comes [%v, %v) id %d", name, per, reset, time.Unix(0, p.start).In(loc), time.Unix(0, p.end).In(loc), p.id, time.Unix(0, n.start).In(loc), time.Unix(0, n.end).In(loc), n.id)
			}
			p = n
		}
	}
}
