package limiter

import (
	"fmt"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // LoadLocation works without the system's database

	"github.com/creditgate/creditgate/store"
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

// BenchmarkPlanForResolve is what a store that keeps no plans (store/redis)
// costs the limiter per step with WithPlanFor: the caller's function, the
// plan's validation and the set's lookup, for a plan with a capped class
// and a calendar window.
func BenchmarkPlanForResolve(b *testing.B) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		b.Skip(err) // no time zone database
	}
	l, err := New(testPlan(), WithPlanFor(func(string) Plan {
		p := testPlan()
		p.SubConcurrency = map[string]int64{"bulk": 5, "query": 10}
		p.Extra = []store.WindowLimit{{Credits: 100, Window: time.Hour}, {Credits: 100, Window: 24 * time.Hour, Calendar: &store.Calendar{Location: la}}}
		return p
	}))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if l.resolve("t") == l.def {
			b.Fatal("the default plan: the custom one is invalid")
		}
	}
}

// Plans that differ in any one field get pointers of their own; equal ones
// share one.
func TestPlanKeyTellsPlansApart(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	base := func() Plan {
		p := testPlan()
		p.Window = 24 * time.Hour
		p.SubConcurrency = map[string]int64{"bulk": 1, "query": 2}
		p.Extra = []store.WindowLimit{{Credits: 50, Window: time.Hour}}
		return p
	}
	variants := map[string]func(*Plan){
		"name":          func(p *Plan) { p.Name = "u" },
		"name quoting":  func(p *Plan) { p.Name = `t|1` },
		"credits":       func(p *Plan) { p.Credits++ },
		"window":        func(p *Plan) { p.Window = 12 * time.Hour },
		"calendar":      func(p *Plan) { p.Window, p.Calendar = 0, &store.Calendar{Location: la} },
		"reset":         func(p *Plan) { p.Window, p.Calendar = 0, &store.Calendar{Location: la, Reset: time.Hour} },
		"concurrency":   func(p *Plan) { p.Concurrency++ },
		"class cap":     func(p *Plan) { p.SubConcurrency["bulk"] = 2 },
		"class name":    func(p *Plan) { p.SubConcurrency = map[string]int64{"bulkx": 1, "query": 2} },
		"one class":     func(p *Plan) { delete(p.SubConcurrency, "query") },
		"extra credits": func(p *Plan) { p.Extra[0].Credits++ },
		"extra window":  func(p *Plan) { p.Extra[0].Window = 2 * time.Hour },
		"extra cal":     func(p *Plan) { p.Extra[0].Calendar = &store.Calendar{Location: la} },
		"no extra":      func(p *Plan) { p.Extra = nil },
	}
	var s planSet
	b := base()
	first := s.get(b)
	if again := s.get(base()); again != first {
		t.Fatal("two equal plans got two pointers")
	}
	seen := map[*Plan]string{first: "base"}
	for name, change := range variants {
		p := base()
		change(&p)
		if err := p.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		q := s.get(p)
		if other, ok := seen[q]; ok {
			t.Errorf("%s shares its pointer with %s", name, other)
		}
		seen[q] = name
	}
}

// With WithPlanFor over a store that asks on every step, the limiter's own
// part (validation and the set's lookup) allocates nothing.
func TestPlanForResolveAllocs(t *testing.T) {
	p := testPlan()
	p.SubConcurrency = map[string]int64{"bulk": 1, "query": 2}
	p.Extra = []store.WindowLimit{{Credits: 50, Window: time.Hour}}
	l := mustNew(t, testPlan(), WithPlanFor(func(string) Plan { return p }))
	if a := testing.AllocsPerRun(100, func() { l.resolve("t") }); a != 0 {
		t.Fatalf("resolve allocates %v times per call", a)
	}
}
