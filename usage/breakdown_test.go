package usage

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// bdEvent is one random decision for the breakdown tests.
type bdEvent struct {
	keys            [numDims]string
	credits         int64
	refused, adjust bool
}

func randomEvents(rng *rand.Rand, n, apps, users, others int) []bdEvent {
	pick := func(prefix string, k int) string { return fmt.Sprintf("%s%d", prefix, rng.IntN(k)) }
	var evs []bdEvent
	for range n {
		e := bdEvent{keys: [numDims]string{pick("a", apps), pick("m", others), pick("ip", others), pick("u", users), pick("M", 3)},
			credits: rng.Int64N(9)}
		switch rng.IntN(10) {
		case 0:
			e.refused = true
		case 2:
			e.credits = 10 + int64(len(evs)) // ever heavier: a new key takes a row at the cap, the tail folds
		case 1:
			e.adjust, e.credits = true, rng.Int64N(7)-3
		}
		if rng.IntN(4) == 0 {
			e.keys[User] = "" // calls with no user are a key of their own
		}
		if rng.IntN(30) == 0 {
			e.keys[App] = Other // a client may call itself "other": it shares Other's row
		}
		evs = append(evs, e)
	}
	return evs
}

func recordAll(u *Stats, at time.Time, evs []bdEvent) {
	for _, e := range evs {
		if e.adjust {
			u.Settle(at, "o", e.keys[App], e.credits)
			continue
		}
		k := e.keys
		record(u, at, "o", k[App], k[Module], k[IP], k[User], k[Method], e.credits, e.refused)
	}
}

// model is the count of each breakdown's rows, and of each outer key.
func (e bdEvent) count() Count {
	switch {
	case e.adjust:
		return Count{Credits: e.credits}
	case e.refused:
		return Count{Refused: 1}
	}
	return Count{Credits: e.credits, Calls: 1}
}

// With caps high enough that nothing folds, every breakdown equals a plain
// count of what was recorded, and its total includes the settled
// differences (by application only).
func TestBreakdownMatchesModel(t *testing.T) {
	for seed := range uint64(10) {
		rng := rand.New(rand.NewPCG(seed, 11))
		u := newStats(t, 0, 1000, WithBreakdownCaps(100, 100))
		evs := randomEvents(rng, 1500, 6, 8, 5)
		recordAll(u, t0, evs[:700])
		recordAll(u, t0.Add(time.Hour), evs[700:]) // two hours, summed by the query
		for _, p := range allPairs() {
			want, totals := map[[2]string]Count{}, map[string]Count{}
			for _, e := range evs {
				if e.adjust && p[0] != App {
					continue
				}
				tot := totals[e.keys[p[0]]]
				tot.plus(e.count())
				totals[e.keys[p[0]]] = tot
				if !e.adjust {
					k := [2]string{e.keys[p[0]], e.keys[p[1]]}
					w := want[k]
					w.plus(e.count())
					want[k] = w
				}
			}
			for outer, tot := range totals {
				b, err := u.Breakdown("o", p[0], outer, p[1], t0, t0.Add(2*time.Hour), 1000)
				if err != nil {
					t.Fatal(err)
				}
				tot.Key = outer
				if b.Total != tot {
					t.Fatalf("seed %d pair %v %q: total %+v, want %+v", seed, p, outer, b.Total, tot)
				}
				for _, c := range b.Rows {
					w := want[[2]string{outer, c.Key}]
					w.Key = c.Key
					if c != w {
						t.Fatalf("seed %d pair %v %q: row %+v, want %+v", seed, p, outer, c, w)
					}
					delete(want, [2]string{outer, c.Key})
				}
			}
			for k, w := range want {
				if w != (Count{}) {
					t.Fatalf("seed %d pair %v: %v missing (%+v)", seed, p, k, w)
				}
			}
		}
	}
}

// At small caps the breakdowns fold, but nothing is lost: the totals of
// every outer key (and Other) add up to the tenant's, the rows of each to
// its total less its settled differences, and no table grows past its caps.
func TestBreakdownFoldsKeepTotals(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 12))
		keys, perKey := 1+int(seed%3), 1+int(seed%4)
		u := newStats(t, 0, 1000, WithBreakdownCaps(keys, perKey))
		evs := randomEvents(rng, 800, 9, 12, 7)
		recordAll(u, t0, evs)
		var all, calls Count // all decisions; those that are calls (no adjusts)
		for _, e := range evs {
			all.plus(e.count())
			if !e.adjust {
				calls.plus(e.count())
			}
		}
		for _, p := range allPairs() {
			want := calls
			if p[0] == App {
				want = all
			}
			var got, rows Count
			outers := append(keysOf(u.Rows("o", p[0], t0, t0.Add(time.Hour), 1000)), Other)
			for _, k := range outers {
				b, _ := u.Breakdown("o", p[0], k, p[1], t0, t0.Add(time.Hour), 1000)
				got.plus(b.Total)
				for _, c := range b.Rows {
					rows.plus(c)
				}
			}
			if got != want || rows != calls {
				t.Fatalf("seed %d pair %v: totals %+v rows %+v, want %+v and %+v", seed, p, got, rows, want, calls)
			}
			checkCaps(t, u, p, keys, perKey)
		}
	}
}

func keysOf(rows []Count) []string {
	var out []string
	for _, c := range rows {
		if c.Key != Other {
			out = append(out, c.Key)
		}
	}
	return out
}

func allPairs() [][2]Dimension {
	var out [][2]Dimension
	for _, b := range breakdowns {
		for _, d := range b.inner {
			out = append(out, [2]Dimension{b.outer, d})
		}
	}
	return out
}

func checkCaps(t *testing.T, u *Stats, p [2]Dimension, keys, perKey int) {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, h := range u.tenants["o"].hours {
		tab := h.pairs[outerIndex(p[0], p[1])]
		if len(tab.rows) > keys+1 {
			t.Fatalf("pair %v: %d outer keys, cap %d", p, len(tab.rows), keys)
		}
		for _, r := range tab.rows {
			if len(r.inner[p[1]]) > perKey+1 {
				t.Fatalf("pair %v: %d inner keys, cap %d", p, len(r.inner[p[1]]), perKey)
			}
		}
	}
}

// The breakdown of a heavy application that arrives when the table is full
// takes a row, as a dimension's key would; a light one folds into Other.
func TestBreakdownHeavyLateKey(t *testing.T) {
	u := newStats(t, 0, 100, WithBreakdownCaps(2, 1))
	for i := range 5 {
		record(u, t0, "o", fmt.Sprintf("small%d", i), "", "", "ann", "GET", 1, false)
	}
	record(u, t0, "o", "heavy", "", "", "bob", "GET", 50, false)
	record(u, t0, "o", "heavy", "", "", "cy", "GET", 7, false)
	b, err := u.Breakdown("o", App, "heavy", User, t0, t0.Add(time.Hour), 10)
	if err != nil || b.Total != (Count{"heavy", 57, 2, 0}) || fmt.Sprint(b.Rows) != fmt.Sprint([]Count{{"bob", 50, 1, 0}, {Other, 7, 1, 0}}) {
		t.Fatalf("heavy: %+v %v", b, err)
	}
	// small0 and small1 took the rows, small2-4 folded as they came, and
	// small1 (the greater key of a tie) folded when heavy came, its user
	// into Other's Other.
	o, _ := u.Breakdown("o", App, Other, User, t0, t0.Add(time.Hour), 10)
	if o.Total != (Count{Other, 4, 4, 0}) || fmt.Sprint(o.Rows) != fmt.Sprint([]Count{{"ann", 3, 3, 0}, {Other, 1, 1, 0}}) {
		t.Fatalf("other: %+v", o)
	}
	if _, err := u.Breakdown("o", Module, "x", App, t0, t0.Add(time.Hour), 10); !errors.Is(err, ErrPair) || Kept(Module, App) || !Kept(User, IP) {
		t.Fatalf("module by app: %v", err)
	}
}

func TestBreakdownCapsOff(t *testing.T) {
	u := newStats(t, 0, 100, WithBreakdownCaps(0, 5))
	record(u, t0, "o", "a", "m", "ip", "u", "GET", 3, false)
	b, err := u.Breakdown("o", App, "a", User, t0, t0.Add(time.Hour), 10)
	if err != nil || b.Total.Calls != 0 || len(b.Rows) != 0 {
		t.Fatalf("breakdowns off, yet %+v %v", b, err)
	}
	if top := u.Top("o", App, t0, t0.Add(time.Hour), 1); len(top) != 1 || top[0].Credits != 3 {
		t.Fatalf("dimensions still kept: %v", top)
	}
}

func TestRowsFoldTail(t *testing.T) {
	u := newStats(t, 0, 3)
	for i, c := range []int64{5, 4, 3, 2, 1} { // 5 apps at a cap of 3: two fold
		record(u, t0, "o", fmt.Sprintf("a%d", i), "", "", "", "GET", c, false)
	}
	record(u, t0.Add(time.Hour), "o", "a4", "", "", "", "GET", 9, false)
	rows := u.Rows("o", App, t0, t0.Add(2*time.Hour), 2)
	want := []Count{{"a4", 9, 1, 0}, {"a0", 5, 1, 0}, {Other, 10, 4, 0}}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Fatalf("rows\n got %v\nwant %v", rows, want)
	}
	if rows := u.Rows("o", App, t0, t0.Add(2*time.Hour), 100); len(rows) != 5 || rows[4].Key != Other || rows[4].Credits != 3 {
		t.Fatalf("all rows, Other last: %v", rows)
	}
	if u.Rows("o", App, t0, t0.Add(time.Hour), 0) != nil || u.Rows("o", numDims, t0, t0.Add(time.Hour), 5) != nil {
		t.Fatal("n = 0 or a bad dimension returns rows")
	}
}

func TestSeriesOfAndTenantRows(t *testing.T) {
	u := newStats(t, 0, 10)
	record(u, t0, "o", "a", "", "", "", "GET", 2, false)
	record(u, t0.Add(2*time.Hour), "o", "a", "", "", "", "GET", 3, false)
	record(u, t0.Add(2*time.Hour), "o", "b", "", "", "", "GET", 1, false)
	record(u, t0, "p", "a", "", "", "", "GET", 9, false)
	u.RecordOutside(t0.Add(2*time.Hour), "o", 40)
	s := u.SeriesOf("o", App, "a", t0, t0.Add(3*time.Hour))
	if len(s) != 2 || s[0].Credits != 2 || s[1].Credits != 3 || !s[1].Hour.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("series of a: %+v", s)
	}
	if s := u.SeriesOf("o", App, Outside, t0, t0.Add(3*time.Hour)); len(s) != 1 || s[0].Credits != 40 || s[0].Calls != 0 {
		t.Fatalf("outside spend: %+v", s)
	}
	rows := u.TenantRows(t0, t0.Add(3*time.Hour))
	if fmt.Sprint(rows) != fmt.Sprint([]Count{{"o", 46, 3, 0}, {"p", 9, 1, 0}}) {
		t.Fatalf("tenants: %v", rows)
	}
	if rows := u.TenantRows(t0.Add(time.Hour), t0.Add(2*time.Hour)); len(rows) != 0 {
		t.Fatalf("an empty hour: %v", rows)
	}
	if u.Retention() != DefaultRetention {
		t.Fatalf("retention %v", u.Retention())
	}
}
