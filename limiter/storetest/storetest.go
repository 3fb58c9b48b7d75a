// Package storetest is the conformance suite every limiter.Store must pass.
// It drives the store with explicit times (a fake clock), so a store that
// keeps time on a server must honour the now it is given.
package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/limiter"
)

// T0 is the suite's start time: not zero, since zero times are sentinels.
var T0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Plan is the plan the suite gives every tenant unless a test says otherwise.
func Plan() limiter.Plan {
	return limiter.Plan{Name: "storetest", Window: time.Hour, BaseCredits: 100, Concurrency: 2,
		SubConcurrency: map[string]int64{"bulk": 1}}
}

// Run runs every conformance test on stores made by newStore (one per test).
func Run(t *testing.T, newStore func() limiter.Store) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, limiter.Store)
	}{
		{"AllOrNothing", testAllOrNothing},
		{"SharedPool", testSharedPool},
		{"SubConcurrency", testSubConcurrency},
		{"WindowReturns", testWindowReturns},
		{"Adjust", testAdjust},
		{"PeekDoesNotSpend", testPeek},
		{"SetPlan", testSetPlan},
		{"TenantsIsolated", testIsolated},
		{"ConcurrentCap", testConcurrentCap},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore()) })
	}
}

func planFor(p limiter.Plan) func(string) *limiter.Plan {
	return func(string) *limiter.Plan { return &p }
}

var defaultPlan = planFor(Plan())

func take(t *testing.T, s limiter.Store, at time.Time, req limiter.Request, want limiter.Reason) limiter.Lease {
	t.Helper()
	var l limiter.Lease
	d := s.Take(at, req, defaultPlan, &l)
	if d.Reason != want || d.Allowed != (want == limiter.ReasonNone) {
		t.Fatalf("Take(%+v) = %+v, want reason %v", req, d, want)
	}
	if want != limiter.ReasonTenants && d.Window != Plan().Window {
		t.Fatalf("Take(%+v).Window = %v, want the plan's %v", req, d.Window, Plan().Window)
	}
	return l
}

func remaining(t *testing.T, s limiter.Store, at time.Time, tenant string, want int64) {
	t.Helper()
	if d := s.Peek(at, tenant, defaultPlan); d.Remaining != want || d.Window != Plan().Window {
		t.Fatalf("remaining of %s = %d, want %d (%+v)", tenant, d.Remaining, want, d)
	}
}

func testAllOrNothing(t *testing.T, s limiter.Store) {
	r := limiter.Request{Tenant: "t", App: "a", Credits: 10}
	l1 := take(t, s, T0, r, limiter.ReasonNone)
	l2 := take(t, s, T0, r, limiter.ReasonNone)
	take(t, s, T0, r, limiter.ReasonConcurrency) // no credits taken
	remaining(t, s, T0, "t", 80)
	s.Release(&l1)
	take(t, s, T0, limiter.Request{Tenant: "t", App: "a", Credits: 81}, limiter.ReasonCredits) // slot given back
	l3 := take(t, s, T0, limiter.Request{Tenant: "t", App: "a", Credits: 80}, limiter.ReasonNone)
	remaining(t, s, T0, "t", 0)
	s.Release(&l2)
	s.Release(&l3)
	l4 := take(t, s, T0, limiter.Request{Tenant: "t", App: "a"}, limiter.ReasonNone) // free call
	s.Release(&l4)
}

func testSharedPool(t *testing.T, s limiter.Store) {
	la := take(t, s, T0, limiter.Request{Tenant: "t", App: "a", Credits: 60}, limiter.ReasonNone)
	lb := take(t, s, T0, limiter.Request{Tenant: "t", App: "b", Credits: 40}, limiter.ReasonNone)
	take(t, s, T0, limiter.Request{Tenant: "t", App: "c", Credits: 1}, limiter.ReasonCredits)
	s.Release(&la)
	s.Release(&lb)
}

func testSubConcurrency(t *testing.T, s limiter.Store) {
	l1 := take(t, s, T0, limiter.Request{Tenant: "t", App: "a", Class: "bulk", Credits: 1}, limiter.ReasonNone)
	take(t, s, T0, limiter.Request{Tenant: "t", App: "b", Class: "bulk", Credits: 1}, limiter.ReasonSubConcurrency)
	l2 := take(t, s, T0, limiter.Request{Tenant: "t", App: "b", Class: "uncapped", Credits: 1}, limiter.ReasonNone)
	remaining(t, s, T0, "t", 98) // the refusal took nothing
	s.Release(&l1)
	l3 := take(t, s, T0, limiter.Request{Tenant: "t", App: "b", Class: "bulk", Credits: 1}, limiter.ReasonNone)
	s.Release(&l2)
	s.Release(&l3)
}

func testWindowReturns(t *testing.T, s limiter.Store) {
	l := take(t, s, T0, limiter.Request{Tenant: "t", App: "a", Credits: 100}, limiter.ReasonNone)
	s.Release(&l)
	d := s.Peek(T0.Add(30*time.Minute), "t", defaultPlan)
	if d.Remaining != 0 || !d.Reset.After(T0.Add(time.Hour-time.Nanosecond)) || d.Reset.After(T0.Add(2*time.Hour)) {
		t.Fatalf("half a window later: %+v", d)
	}
	take(t, s, T0.Add(30*time.Minute), limiter.Request{Tenant: "t", App: "a", Credits: 1}, limiter.ReasonCredits)
	remaining(t, s, T0.Add(2*time.Hour), "t", 100)
}

func testAdjust(t *testing.T, s limiter.Store) {
	l := take(t, s, T0, limiter.Request{Tenant: "t", App: "a", Credits: 10}, limiter.ReasonNone)
	if rem := s.Adjust(T0.Add(time.Minute), &l, -10); rem != 100 {
		t.Fatalf("refund whole: remaining %d", rem)
	}
	if rem := s.Adjust(T0.Add(time.Minute), &l, 150); rem != 0 {
		t.Fatalf("charge beyond the pool: remaining %d", rem)
	}
	s.Release(&l)
	remaining(t, s, T0.Add(time.Minute), "t", 0)
}

func testPeek(t *testing.T, s limiter.Store) {
	remaining(t, s, T0, "new", 100)
	l := take(t, s, T0, limiter.Request{Tenant: "new", App: "a", Credits: 5}, limiter.ReasonNone)
	remaining(t, s, T0, "new", 95)
	remaining(t, s, T0, "new", 95)
	s.Release(&l)
}

func testSetPlan(t *testing.T, s limiter.Store) {
	l := take(t, s, T0, limiter.Request{Tenant: "t", App: "a", Credits: 90}, limiter.ReasonNone)
	up := Plan()
	up.AddOnCredits = 100
	up.Concurrency = 1
	if err := s.SetPlan(T0, "t", &up); err != nil {
		t.Fatal(err)
	}
	remaining(t, s, T0, "t", 110)
	var l2 limiter.Lease
	if d := s.Take(T0, limiter.Request{Tenant: "t", App: "a", Credits: 1}, planFor(up), &l2); d.Reason != limiter.ReasonConcurrency {
		t.Fatalf("lowered concurrency not applied: %+v", d)
	}
	s.Release(&l)
	if d := s.Take(T0, limiter.Request{Tenant: "t", App: "a", Credits: 110}, planFor(up), &l2); !d.Allowed {
		t.Fatalf("upgrade: %+v", d)
	}
	s.Release(&l2)
}

func testIsolated(t *testing.T, s limiter.Store) {
	l := take(t, s, T0, limiter.Request{Tenant: "x", App: "a", Credits: 100}, limiter.ReasonNone)
	l2 := take(t, s, T0, limiter.Request{Tenant: "y", App: "a", Credits: 100}, limiter.ReasonNone)
	remaining(t, s, T0, "x", 0)
	s.Release(&l)
	s.Release(&l2)
}

// testConcurrentCap: under contention the per-app cap is never exceeded and
// every slot comes back.
func testConcurrentCap(t *testing.T, s limiter.Store) {
	big := Plan()
	big.BaseCredits = 1 << 30
	pf := planFor(big)
	var inFlight, peak atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				var l limiter.Lease
				if d := s.Take(T0, limiter.Request{Tenant: "c", App: "a", Credits: 1}, pf, &l); !d.Allowed {
					continue
				}
				n := inFlight.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				inFlight.Add(-1)
				s.Release(&l)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > big.Concurrency {
		t.Fatalf("peak in flight %d above the cap %d", p, big.Concurrency)
	}
	var l1, l2 limiter.Lease
	d1 := s.Take(T0, limiter.Request{Tenant: "c", App: "a", Credits: 1}, pf, &l1)
	d2 := s.Take(T0, limiter.Request{Tenant: "c", App: "a", Credits: 1}, pf, &l2)
	if !d1.Allowed || !d2.Allowed {
		t.Fatalf("slots leaked: %+v %+v", d1, d2)
	}
	s.Release(&l1)
	s.Release(&l2)
}
