package storetest

import (
	"sync/atomic"
	"testing"

	"github.com/creditgate/creditgate/store"
)

// units is a request of app that takes n units of its concurrency cap.
func units(app string, n int64) store.Request {
	return store.Request{Tenant: "t", App: app, Credits: 1, Units: n}
}

// A request takes its Units of the application's cap (the suite's plan: 2),
// is admitted only if they all fit, and gives them all back on Release; 0
// and less mean 1.
func testUnits[L any](t *testing.T, s store.Store[L]) {
	l1, _ := take(t, s, T0, units("a", 2), store.ReasonNone)
	_, d := take(t, s, T0, units("a", 0), store.ReasonConcurrency) // 2 held + 1 > 2
	if d.RetryAfter != store.ConcurrencyRetryAfter {
		t.Fatalf("concurrency refusal: %+v", d)
	}
	l2, _ := take(t, s, T0, units("b", 2), store.ReasonNone) // another application's cap
	remaining(t, s, T0, "t", 98)
	s.Release(l1) // both units back
	l3, _ := take(t, s, T0, units("a", 1), store.ReasonNone)
	take(t, s, T0, units("a", 2), store.ReasonConcurrency) // 1 held + 2 > 2: nothing kept
	l4, _ := take(t, s, T0, units("a", -3), store.ReasonNone)
	take(t, s, T0, units("a", 1), store.ReasonConcurrency)
	s.Release(l3)
	s.Release(l4)
	s.Release(l2)
	remaining(t, s, T0, "t", 96)
	for _, app := range []string{"a", "b"} {
		l, _ := take(t, s, T0, units(app, 2), store.ReasonNone) // every unit came back
		s.Release(l)
	}
}

// A request of more units than the cap is refused for concurrency, with
// nothing taken, however often it is asked (never admitted, never waited
// for), and so is one past any cap (store.MaxConcurrency). The refusal
// names the pool, as any other does (Limit 0 is "no pool read").
func testUnitsOverCap[L any](t *testing.T, s store.Store[L]) {
	for _, n := range []int64{3, 1 << 20, store.MaxConcurrency, store.MaxConcurrency + 1, 1 << 62} {
		for _, app := range []string{"a", "b"} { // the first application and another
			_, d := take(t, s, T0, units(app, n), store.ReasonConcurrency)
			if d.Cost != 1 || d.RetryAfter != store.ConcurrencyRetryAfter || d.Limit != 100 || d.Remaining != 100 || d.Used != 0 {
				t.Fatalf("%d units: %+v", n, d)
			}
		}
	}
	remaining(t, s, T0, "t", 100)
	la, _ := take(t, s, T0, units("a", 2), store.ReasonNone) // nothing leaked
	lb, _ := take(t, s, T0, units("b", 2), store.ReasonNone)
	s.Release(la)
	s.Release(lb)
}

// A call of several units takes one unit of its class's sub-concurrency:
// the suite's plan caps bulk at 1 in flight, and a 2-unit bulk call holds
// the app's cap whole and the class's one slot.
func testUnitsWithClass[L any](t *testing.T, s store.Store[L]) {
	bulk := func(app string, n int64) store.Request {
		return store.Request{Tenant: "t", App: app, Class: "bulk", Credits: 1, Units: n}
	}
	l1, _ := take(t, s, T0, bulk("a", 2), store.ReasonNone)
	take(t, s, T0, bulk("b", 1), store.ReasonSubConcurrency) // the class's one slot is taken
	take(t, s, T0, units("a", 1), store.ReasonConcurrency)   // the app's two units are taken
	l2, _ := take(t, s, T0, units("b", 2), store.ReasonNone)
	s.Release(l1)
	l3, _ := take(t, s, T0, bulk("a", 1), store.ReasonNone) // the class's slot and both units came back
	l4, _ := take(t, s, T0, units("a", 1), store.ReasonNone)
	s.Release(l3)
	s.Release(l4)
	s.Release(l2)
}

// Under contention, calls of 1 and 2 units never hold more units of an
// application than its cap (the suite's plan: 2), and every unit comes back.
func testConcurrentUnits[L any](t *testing.T, s store.Store[L]) {
	big := Plan()
	big.Credits = 1 << 30
	pf := planFor(big)
	var inFlight, peak atomic.Int64
	hammer(8, func(g int) {
		n := int64(1 + g%2)
		for range 300 {
			var l L
			var d store.Decision
			if s.Take(T0, &store.Request{Tenant: "c", App: "a", Credits: 1, Units: n}, pf, &l, &d); !d.Allowed {
				continue
			}
			u := inFlight.Add(n)
			for p := peak.Load(); u > p && !peak.CompareAndSwap(p, u); p = peak.Load() {
			}
			inFlight.Add(-n)
			s.Release(&l)
		}
	})
	if p := peak.Load(); p > big.Concurrency {
		t.Fatalf("peak units in flight %d above the cap %d", p, big.Concurrency)
	}
	l, _ := takeWith(t, s, pf, T0, store.Request{Tenant: "c", App: "a", Credits: 1, Units: 2}, store.ReasonNone) // no unit leaked
	s.Release(l)
}
