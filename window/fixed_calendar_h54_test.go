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
// one starts where it ends, and their ids strictly increase, across the
// zone's changes of 2011 (DST, Apia's skipped day) and reset times in a gap.
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
		// Walk from a day before each of the zone's changes in 2011
		// (Apia's skipped day is on 30 December 2011).
		for tr := time.Date(2011, 1, 1, 0, 0, 0, 0, loc); tr.Year() < 2012; {
			_, end := tr.ZoneBounds()
			if end.IsZero() {
				break
			}
			tr = end
			start := end.Add(-day - time.Duration(r.Int64N(int64(day))))
			walkPeriods(t, f, name, start, end.Add(day), r)
		}
		walkPeriods(t, f, name, time.Date(2012, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2012, 1, 3, 0, 0, 0, 0, time.UTC), r)
	}
}

func walkPeriods(t *testing.T, f *Fixed, name string, start, stop time.Time, r *rand.Rand) {
	t.Helper()
	per, reset, loc := f.period, f.resetAt, f.loc
	{
		p := f.periodOf(start)
		for steps := 0; p.end <= UnixNano(stop); steps++ {
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

// TestFixedAgainstReference drives a Fixed in zones with DST changes and
// skipped days, with a clock that steps forward, back and across periods,
// against a reference: the newest period any call has passed (periodOf's,
// which TestFixedPeriodsTileEveryZone checks) and what is spent in it. A
// call in an older period counts in the newest; a refund gives back only
// what was spent in it; limits change midway; TakeAt with keep and partial.
func TestFixedAgainstReference(t *testing.T) {
	zones := []string{"America/New_York", "Pacific/Apia", "America/Havana", "Australia/Lord_Howe", "Antarctica/Troll", "UTC"}
	pers := []time.Duration{day, time.Hour, 7 * day, 30 * time.Minute, 2 * day}
	for zi, zone := range zones {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Skip(err)
		}
		for seed := range uint64(20) {
			rng := rand.New(rand.NewPCG(uint64(zi), seed))
			per := pers[rng.IntN(len(pers))]
			reset := time.Duration(rng.Int64N(int64(day))) / time.Minute * time.Minute
			if rng.IntN(2) == 0 {
				reset = 0
			}
			limit := 1 + rng.Int64N(20)
			f, err := NewFixed(limit, per, reset, loc)
			if err != nil {
				t.Fatal(err)
			}
			// Around a change: Apia skipped 30 December 2011, Havana
			// moves at midnight, New York at 2:00.
			now := []time.Time{
				time.Date(2011, 12, 28, 0, 0, 0, 0, loc),
				time.Date(2011, 3, 12, 20, 0, 0, 0, loc),
				time.Date(2011, 11, 5, 20, 0, 0, 0, loc),
				time.Date(2011, 10, 1, 12, 0, 0, 0, loc),
			}[rng.IntN(4)]
			var cur *period
			var used int64
			for step := range 400 {
				switch p := rng.IntN(10); {
				case p < 5:
					now = now.Add(time.Duration(rng.Int64N(int64(per / 3))))
				case p < 7:
					now = now.Add(-time.Duration(rng.Int64N(int64(per))))
				case p < 8:
					now = now.Add(time.Duration(rng.Int64N(int64(2 * day))))
				}
				op, n := rng.IntN(6), 1+rng.Int64N(limit+1)
				// Every call passes its now but a refused bad input and SetLimit.
				if np := f.periodOf(now); (cur == nil || np.start > cur.start) && !(op < 2 && n > limit) && op != 4 {
					cur, used = np, 0
				}
				switch op {
				case 0, 1:
					ok, err := f.TryAcquireAt(now, n)
					if n > limit {
						if ok || err != ErrExceedsLimit {
							t.Fatalf("%s seed %d step %d: TryAcquireAt(%d) over limit %d = %v, %v", zone, seed, step, n, limit, ok, err)
						}
						break
					}
					want := used+n <= limit
					if ok != want || err != nil {
						t.Fatalf("%s seed %d step %d: TryAcquireAt(%v, %d) = %v, %v with %d/%d spent, want %v", zone, seed, step, now, n, ok, err, used, limit, want)
					}
					if ok {
						used += n
					}
				case 2:
					n := rng.Int64N(limit + 2)
					keep := rng.Int64N(limit + 1)
					partial := rng.IntN(2) == 0
					got := f.TakeAt(now, n, keep, partial)
					took := fitRef(used, n, max(limit-keep, 0), partial)
					want := Take{Took: took, Spent: used + took, Remaining: max(limit-used-took, 0)}
					if got != want {
						t.Fatalf("%s seed %d step %d: TakeAt(%v, %d, keep %d, %v) = %+v, want %+v", zone, seed, step, now, n, keep, partial, got, want)
					}
					used += took
				case 3:
					spent := now.Add(-time.Duration(rng.Int64N(int64(per))))
					sn := UnixNano(spent)
					var want int64
					if sn >= cur.start && sn < cur.end {
						want = min(n, used)
					}
					if got := f.RefundAt(now, spent, n); got != want {
						t.Fatalf("%s seed %d step %d: RefundAt(%v, spent %v, %d) = %d, want %d (period [%v, %v), %d spent)", zone, seed, step, now, spent, n, got, want, time.Unix(0, cur.start).In(loc), time.Unix(0, cur.end).In(loc), used)
					}
					used -= want
				case 4:
					limit = 1 + rng.Int64N(20)
					if err := f.SetLimit(limit); err != nil {
						t.Fatal(err)
					}
				case 5:
					if got, want := f.RemainingAt(now), max(limit-used, 0); got != want {
						t.Fatalf("%s seed %d step %d: RemainingAt = %d, want %d", zone, seed, step, got, want)
					}
					wantReset := now
					if used > 0 {
						wantReset = time.Unix(0, cur.end)
					}
					if got := f.ResetAt(now); !got.Equal(wantReset) {
						t.Fatalf("%s seed %d step %d: ResetAt = %v, want %v", zone, seed, step, got, wantReset)
					}
				}
			}
		}
	}
}
