package limiter

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

// randomPlan draws a plan from small sets of each field, with locations
// loaded anew (new pointers, same rules) or fixed zones of one name and
// different offsets (same name, other rules).
func randomPlan(rng *rand.Rand) Plan {
	loc := func() *time.Location {
		switch rng.IntN(4) {
		case 0:
			l, _ := time.LoadLocation("Europe/Paris")
			return l
		case 1:
			return time.FixedZone("Z", 3600)
		case 2:
			return time.FixedZone("Z", -3600)
		}
		return time.UTC
	}
	cal := func() *Calendar {
		if rng.IntN(2) == 0 {
			return nil
		}
		return &Calendar{Reset: time.Duration(rng.IntN(2)) * time.Hour, Location: loc()}
	}
	p := Plan{
		Name:        []string{"a", "b", "a|1", `"a"`}[rng.IntN(4)],
		Credits:     []int64{100, 1000}[rng.IntN(2)],
		Window:      []time.Duration{0, 24 * time.Hour, time.Hour}[rng.IntN(3)],
		Concurrency: 1 + rng.Int64N(2),
	}
	if p.Window != time.Hour || rng.IntN(2) == 0 {
		p.Calendar = cal()
	}
	if rng.IntN(2) == 0 {
		p.SubConcurrency = map[string]int64{}
		for _, c := range []string{"bulk", "q", "b=1"} {
			if rng.IntN(2) == 0 {
				p.SubConcurrency[c] = 1 + rng.Int64N(2)
			}
		}
	}
	for range rng.IntN(3) {
		p.Extra = append(p.Extra, WindowLimit{Credits: 10 + rng.Int64N(2), Window: []time.Duration{time.Hour, 30 * time.Minute}[rng.IntN(2)], Calendar: cal()})
	}
	return p
}

// samePlan reports whether a and b are the same plan: equal fields, and
// calendars in locations that give the same offsets.
func samePlan(a, b *Plan) bool {
	sameCal := func(x, y *Calendar) bool {
		if x == nil || y == nil {
			return x == nil && y == nil
		}
		if x.Reset != y.Reset || x.Location.String() != y.Location.String() {
			return false
		}
		for _, at := range []time.Time{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)} {
			_, ox := at.In(x.Location).Zone()
			_, oy := at.In(y.Location).Zone()
			if ox != oy {
				return false
			}
		}
		return true
	}
	if a.Name != b.Name || a.Credits != b.Credits || a.WindowLength() != b.WindowLength() || a.Concurrency != b.Concurrency ||
		len(a.SubConcurrency) != len(b.SubConcurrency) || len(a.Extra) != len(b.Extra) || !sameCal(a.Calendar, b.Calendar) {
		return false
	}
	for k, v := range a.SubConcurrency {
		if w, ok := b.SubConcurrency[k]; !ok || w != v {
			return false
		}
	}
	for i := range a.Extra {
		x, y := a.Extra[i], b.Extra[i]
		if x.Credits != y.Credits || x.Window != y.Window || !sameCal(x.Calendar, y.Calendar) {
			return false
		}
	}
	return true
}

// TestPlanSetAsModel: the plan set hands out, for random plans, a plan that
// is the one asked for, and one pointer per distinct plan: the same pointer
// for the same plan (locations loaded anew included), another for any
// other (a name, a cap, a class, an extra window or a location's rules
// apart).
func TestPlanSetAsModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(54, 545))
	var s planSet
	var seen []*Plan
	for i := range 3000 {
		p := randomPlan(rng)
		if p.Validate() != nil {
			continue
		}
		q := s.get(p)
		if !samePlan(q, &p) {
			t.Fatalf("draw %d: asked for %+v, got %+v", i, p, *q)
		}
		for _, o := range seen {
			if (o == q) != samePlan(o, &p) {
				t.Fatalf("draw %d: %+v and %+v: same pointer %v, same plan %v", i, *o, p, o == q, samePlan(o, &p))
			}
		}
		if !slices.Contains(seen, q) {
			seen = append(seen, q)
		}
		if reflect.ValueOf(q.SubConcurrency).Pointer() == reflect.ValueOf(p.SubConcurrency).Pointer() && p.SubConcurrency != nil {
			t.Fatalf("draw %d: the set keeps the caller's map", i)
		}
	}
}
