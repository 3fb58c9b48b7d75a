package limiter

import (
	"fmt"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // LoadLocation works without the system's database
)

// Two calendars in locations of one name but different rules are different
// plans: fixed zones built with the same name (or none) and offsets of their
// own, as a per-tenant plan might build them, kept each its own reset time.
func TestPlanForLocationsApart(t *testing.T) {
	east, west := time.FixedZone("", 10*3600), time.FixedZone("", -10*3600)
	l := mustNew(t, testPlan(), WithPlanFor(func(tenant string) Plan {
		p := testPlan()
		loc := east
		if tenant == "west" {
			loc = west
		}
		p.Window = 24 * time.Hour
		p.Calendar = &Calendar{Location: loc}
		p.Extra = []WindowLimit{{Credits: 10, Window: time.Hour, Calendar: &Calendar{Location: loc}}}
		return p
	}))
	e, w := l.resolve("east"), l.resolve("west")
	if e == w {
		t.Fatal("plans in locations -10h and +10h share a pointer")
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, off := at.In(w.Calendar.Location).Zone(); off != -10*3600 {
		t.Fatalf("west's calendar is at offset %d", off)
	}
	if _, off := at.In(w.Extra[0].Calendar.Location).Zone(); off != -10*3600 {
		t.Fatalf("west's extra window is at offset %d", off)
	}
}

// A location loaded anew per call (time.LoadLocation returns a new pointer
// each time) is still the same plan: one pointer for the store.
func TestPlanForLoadedLocationShared(t *testing.T) {
	l := mustNew(t, testPlan(), WithPlanFor(func(string) Plan {
		loc, err := time.LoadLocation("America/Los_Angeles")
		if err != nil {
			panic(err)
		}
		p := testPlan()
		p.Calendar = &Calendar{Location: loc}
		return p
	}))
	if a, b := l.resolve("x"), l.resolve("y"); a != b {
		t.Fatal("one plan with its location loaded twice came as two pointers")
	}
}

// The plans handed out are the set's own: a caller changing the map it
// returned changes no plan already handed out, and its next answer is the
// new plan.
func TestPlanForCallerMutation(t *testing.T) {
	classes := map[string]int64{"bulk": 1}
	var mu sync.Mutex
	l := mustNew(t, testPlan(), WithPlanFor(func(string) Plan {
		mu.Lock()
		defer mu.Unlock()
		p := testPlan()
		p.SubConcurrency = classes
		return p
	}))
	a := l.resolve("x")
	mu.Lock()
	classes["bulk"] = 5
	mu.Unlock()
	if a.SubConcurrency["bulk"] != 1 {
		t.Fatalf("the caller's change reached a plan handed out: %v", a.SubConcurrency)
	}
	if b := l.resolve("x"); b == a || b.SubConcurrency["bulk"] != 5 {
		t.Fatalf("the changed plan came as %v", b.SubConcurrency)
	}
}

// However many distinct plans come over time, the set holds at most
// maxPlans, and concurrent callers agree on pointers while it does.
func TestPlanSetBounded(t *testing.T) {
	var s planSet
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 3 * maxPlans {
				p := testPlan()
				p.Name = fmt.Sprint("plan", i)
				p.Credits = int64(100 + g%2)
				if q := s.get(p); q.Name != p.Name || q.Credits != p.Credits {
					t.Errorf("asked for %s/%d, got %s/%d", p.Name, p.Credits, q.Name, q.Credits)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := s.len(); n > maxPlans {
		t.Fatalf("the set holds %d plans, more than %d", n, maxPlans)
	}
}

// len returns how many plans the set holds.
func (s *planSet) len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.n
}
