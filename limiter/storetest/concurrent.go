package storetest

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/store"
)

// hammer runs fn on workers goroutines and waits for them.
func hammer(workers int, fn func(g int)) {
	var wg sync.WaitGroup
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(g)
		}()
	}
	wg.Wait()
}

// Under contention the per-application cap is never exceeded and every
// slot comes back.
func testConcurrentCap[L any](t *testing.T, s store.Store[L]) {
	big := Plan()
	big.Credits = 1 << 30
	pf := planFor(big)
	var inFlight, peak atomic.Int64
	hammer(8, func(int) {
		for range 300 {
			var l L
			var d store.Decision
			if s.Take(T0, &store.Request{Tenant: "c", App: "a", Credits: 1}, pf, &l, &d); !d.Allowed {
				continue
			}
			n := inFlight.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			inFlight.Add(-1)
			s.Release(&l)
		}
	})
	if p := peak.Load(); p > big.Concurrency {
		t.Fatalf("peak in flight %d above the cap %d", p, big.Concurrency)
	}
	l1, _ := takeWith(t, s, pf, T0, req("c", "a", 1), store.ReasonNone)
	l2, _ := takeWith(t, s, pf, T0, req("c", "a", 1), store.ReasonNone) // no slot leaked
	s.Release(l1)
	s.Release(l2)
}

// Each admission's Used is its own step's: goroutines taking one credit at
// a time see the figures 1..pool, each once, and nothing beyond the pool.
func testExactFigures[L any](t *testing.T, s store.Store[L]) {
	p := Plan()
	p.Credits, p.Concurrency = 1000, 64
	pf := planFor(p)
	var mu sync.Mutex
	seen := map[int64]int{}
	hammer(4, func(int) {
		var mine []int64
		for {
			var l L
			var d store.Decision
			s.Take(T0, &store.Request{Tenant: "x", App: "a", Credits: 1}, pf, &l, &d)
			if !d.Allowed {
				break
			}
			mine = append(mine, d.Used)
			s.Release(&l)
		}
		mu.Lock()
		for _, u := range mine {
			seen[u]++
		}
		mu.Unlock()
	})
	for u := int64(1); u <= p.Credits; u++ {
		if seen[u] != 1 {
			t.Fatalf("use %d reported by %d admissions, want 1", u, seen[u])
		}
	}
	if len(seen) != int(p.Credits) {
		t.Fatalf("%d distinct figures for a pool of %d", len(seen), p.Credits)
	}
}

// Concurrent settles up and down are exact: the pool ends with the sum of
// what every call settled at.
func testConcurrentSettles[L any](t *testing.T, s store.Store[L]) {
	p := Plan()
	p.Credits, p.Concurrency = 1<<20, 64
	pf := planFor(p)
	var total atomic.Int64
	hammer(4, func(g int) {
		rng := rand.New(rand.NewPCG(uint64(g), 9))
		for range 500 {
			var l L
			var d store.Decision
			s.Take(T0, &store.Request{Tenant: "s", App: "a", Credits: 2}, pf, &l, &d)
			if !d.Allowed {
				t.Errorf("refused: %+v", d)
				return
			}
			actual := rng.Int64N(5)
			if delta := actual - 2; delta != 0 {
				if sd := s.Settle(T0, &l, delta, false); sd.Cost != delta {
					t.Errorf("settle by %d: %+v", delta, sd)
				}
			}
			total.Add(actual)
			s.Release(&l)
		}
	})
	if d := s.Peek(T0, "s", 0, pf); d.Used != total.Load() {
		t.Fatalf("used %d, want the settled sum %d", d.Used, total.Load())
	}
}

// Plan changes racing admissions lose nothing and never over-admit: the
// window length flips while goroutines take; what they took stays counted
// (twice at worst while a change runs), and never more than the pool.
func testSetPlanRaces[L any](t *testing.T, s store.Store[L]) {
	short, long := Plan(), Plan()
	short.Credits, short.Concurrency = 2000, 64
	long.Credits, long.Concurrency, long.Window = 2000, 64, 2*time.Hour
	var cur atomic.Pointer[store.Plan]
	cur.Store(&short)
	pf := func(string) *store.Plan { return cur.Load() }
	l, _ := takeWith(t, s, pf, T0, req("r", "a", 0), store.ReasonNone) // create the tenant
	s.Release(l)
	var admitted atomic.Int64
	var stop atomic.Bool
	var changes sync.WaitGroup
	changes.Add(1)
	go func() {
		defer changes.Done()
		for i := 0; !stop.Load(); i++ {
			p := &short
			if i%2 == 0 {
				p = &long
			}
			cur.Store(p)
			if err := s.SetPlan(T0, "r", p); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	hammer(4, func(int) {
		for range 1000 {
			var l L
			var d store.Decision
			if s.Take(T0, &store.Request{Tenant: "r", App: "a", Credits: 1}, pf, &l, &d); d.Allowed {
				admitted.Add(1)
				s.Release(&l)
			}
		}
	})
	stop.Store(true)
	changes.Wait()
	d := s.Peek(T0, "r", 0, pf)
	if n := admitted.Load(); n > 2000 || d.Used < n {
		t.Fatalf("admitted %d of a pool of 2000; the pool counts %d used", n, d.Used)
	}
}

// Alerts fire exactly once per crossing over the store, whichever
// admissions and settles race: the pool only fills, so each threshold is
// crossed once.
func testAlerts[L any](t *testing.T, s store.Store[L]) {
	var thresh []int
	for th := 3; th <= 96; th += 3 {
		thresh = append(thresh, th)
	}
	var mu sync.Mutex
	var fired []int
	p := Plan()
	p.Credits, p.Concurrency = 3000, 64
	l, err := limiter.New(p, limiter.WithStore(s), limiter.WithAlerts(thresh, func(a limiter.Alert) {
		mu.Lock()
		fired = append(fired, a.Threshold)
		mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	hammer(4, func(g int) {
		for i := 0; ; i++ {
			tk, d := l.Acquire(T0, limiter.Request{Tenant: "o", App: "a", Credits: 1})
			if !d.Allowed {
				return
			}
			if (i+g)%3 == 0 {
				tk.Settle(T0, 3) // a charge of 2 more, cut short once the pool is spent
			}
			tk.Release()
		}
	})
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	slices.Sort(fired)
	if !slices.Equal(fired, thresh) || l.DroppedAlerts() != 0 {
		t.Fatalf("alerts %v (%d dropped), want each of %v once", fired, l.DroppedAlerts(), thresh)
	}
}

// A bounded store refuses a new tenant while every tenant it holds is busy
// (slots held), saying when to come back, and makes room once one is idle;
// a tenant that left with credits out gets them back when they are due,
// not at once.
func testBounded[L any](t *testing.T, bounded func(int) store.Store[L]) {
	s := bounded(2)
	la, _ := take(t, s, T0, req("a", "x", 10), store.ReasonNone)
	lb, _ := take(t, s, T0, req("b", "x", 0), store.ReasonNone)
	_, d := take(t, s, T0, req("c", "x", 1), store.ReasonTenants)
	if d.RetryAfter <= 0 || d.Limit != 0 {
		t.Fatalf("a full store's refusal says when to come back, and no pool: %+v", d)
	}
	s.Release(lb)
	s.Release(la)
	lc, _ := take(t, s, T0.Add(2*time.Second), req("c", "x", 1), store.ReasonNone)
	s.Release(lc)
	ld, _ := take(t, s, T0.Add(2*time.Second), req("d", "x", 1), store.ReasonNone)
	s.Release(ld)
	remaining(t, s, T0.Add(3*time.Second), "a", 90) // a's spend was kept, whether a was
	la, _ = take(t, s, T0.Add(4*time.Second), req("a", "x", 90), store.ReasonNone)
	s.Release(la)
	take(t, s, T0.Add(5*time.Second), req("a", "x", 1), store.ReasonCredits)
	remaining(t, s, T0.Add(3*time.Hour), "a", 100)
}

// Goroutines hammer more tenants than the store holds, with free calls (so
// tenants are evicted all the time); the cap of one per application holds
// across evictions, and every tenant gets in.
func testEvictionRace[L any](t *testing.T, bounded func(int) store.Store[L]) {
	s := bounded(3)
	p := store.Plan{Name: "e", Credits: 10, Concurrency: 1}
	pf := planFor(p)
	var inFlight, got [6]atomic.Int64
	var clock atomic.Int64
	hammer(6, func(g int) {
		rng := rand.New(rand.NewPCG(uint64(g), 3))
		for range 3000 {
			k := rng.IntN(len(inFlight))
			now := T0.Add(time.Duration(clock.Add(int64(300 * time.Millisecond))))
			var l L
			var d store.Decision
			if s.Take(now, &store.Request{Tenant: string(rune('a' + k)), App: "x"}, pf, &l, &d); !d.Allowed {
				continue
			}
			if n := inFlight[k].Add(1); n > 1 {
				t.Errorf("tenant %c: %d in flight with a cap of 1", 'a'+k, n)
			}
			got[k].Add(1)
			inFlight[k].Add(-1)
			s.Release(&l)
		}
	})
	for k := range got {
		if got[k].Load() == 0 {
			t.Fatalf("tenant %c never admitted: the store did not make room", 'a'+k)
		}
	}
}
