package storetest

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// figures checks d's figures of the plan it was decided under.
func figures(t *testing.T, what string, d store.Decision, addOns, capped, exceeds int64) {
	t.Helper()
	if d.AddOns != addOns || d.Cap != capped || d.Exceeds != exceeds {
		t.Fatalf("%s: AddOns %d, Cap %d, Exceeds %d, want %d, %d, %d (%+v)",
			what, d.AddOns, d.Cap, d.Exceeds, addOns, capped, exceeds, d)
	}
}

// A decision carries figures of the plan the store decided under (its
// add-ons; a refusal's cap, or the limit a cost no wait admits exceeds),
// not of what the PlanFunc answers now: after a SetPlan the function here
// still answers the plan the tenant was made with.
func testPlanFigures[L any](t *testing.T, s store.Store[L]) {
	p := Plan()
	p.Extra = []store.WindowLimit{{Credits: 10, Window: time.Minute}}
	pf := planFor(p)
	l, d := takeWith(t, s, pf, T0, req("t", "a", 1), store.ReasonNone)
	figures(t, "an admission", d, 0, 0, 0)
	l2, _ := takeWith(t, s, pf, T0, req("t", "a", 1), store.ReasonNone)
	_, d = takeWith(t, s, pf, T0, req("t", "a", 1), store.ReasonConcurrency)
	figures(t, "a concurrency refusal", d, 0, 2, 0)
	s.Release(l2)
	_, d = takeWith(t, s, pf, T0, store.Request{Tenant: "t", App: "b", Units: 3}, store.ReasonConcurrency)
	figures(t, "more units than the cap", d, 0, 2, 0)
	bulk := store.Request{Tenant: "t", App: "b", Class: "bulk", Credits: 1}
	lb, _ := takeWith(t, s, pf, T0, bulk, store.ReasonNone)
	_, d = takeWith(t, s, pf, T0, store.Request{Tenant: "t", App: "c", Class: "bulk"}, store.ReasonSubConcurrency)
	figures(t, "a sub-concurrency refusal", d, 0, 1, 0)
	s.Release(lb)
	_, d = takeWith(t, s, pf, T0, req("t", "b", 11), store.ReasonCredits)
	figures(t, "a cost above the minute's window", d, 0, 0, 10)
	_, d = takeWith(t, s, pf, T0, req("t", "b", 101), store.ReasonCredits)
	figures(t, "a cost above the pool", d, 0, 0, 100)
	_, d = takeWith(t, s, pf, T0, req("t", "b", 9), store.ReasonCredits) // 3 of the minute's 10 spent
	figures(t, "a cost that fits once credits come back", d, 0, 0, 0)

	up := p
	up.Credits, up.AddOns, up.Concurrency, up.Extra = 200, 50, 1, nil
	if err := s.SetPlan(T0, "t", &up); err != nil {
		t.Fatal(err)
	}
	_, d = takeWith(t, s, pf, T0, req("t", "a", 1), store.ReasonConcurrency) // l holds the one slot
	figures(t, "the new plan's cap refuses", d, 50, 1, 0)
	s.Release(l)
	l, d = takeWith(t, s, pf, T0, req("t", "a", 11), store.ReasonNone)
	figures(t, "an admission under the new plan", d, 50, 0, 0)
	_, d = takeWith(t, s, pf, T0, req("t", "b", 201), store.ReasonCredits)
	figures(t, "a cost above the new pool", d, 50, 0, 200)
	figures(t, "a settle", s.Settle(T0, l, -1, false), 50, 0, 0)
	s.Release(l)
	figures(t, "a charge", s.Charge(T0, "t", 1, pf), 50, 0, 0)
	figures(t, "a peek", s.Peek(T0, "t", 0, pf), 50, 0, 0)

	down := up
	down.AddOns, down.Concurrency = 0, 2
	if err := s.SetPlan(T0, "t", &down); err != nil {
		t.Fatal(err)
	}
	l, d = takeWith(t, s, pf, T0, req("t", "a", 1), store.ReasonNone)
	figures(t, "an admission once the add-ons are gone", d, 0, 0, 0)
	s.Release(l)
}

// The same for a plan of one pool, whose admissions are the memory store's
// common kind: a plan change in place (the pool's size, the add-ons) shows
// in the next admission.
func testPlanFiguresPool[L any](t *testing.T, s store.Store[L]) {
	p := Plan()
	p.AddOns = 30
	pf := planFor(p)
	l, d := takeWith(t, s, pf, T0, req("t", "a", 1), store.ReasonNone)
	figures(t, "an admission", d, 30, 0, 0)
	s.Release(l)
	for _, addOns := range []int64{0, 40} {
		next := p
		next.Credits, next.AddOns = 150, addOns
		if err := s.SetPlan(T0, "t", &next); err != nil {
			t.Fatal(err)
		}
		l, d = takeWith(t, s, pf, T0, req("t", "a", 1), store.ReasonNone)
		figures(t, "an admission after SetPlan", d, addOns, 0, 0)
		s.Release(l)
	}
}

// A Settle refused for credits reports Exceeds for the lease's whole
// charge after the delta (what its Take and Settles charged, plus the
// delta), not for the delta alone: a body-priced request reserves the
// rest of its price on a lease that holds the least price, and whether a
// wait admits the call is a matter of the whole price.
func testSettleFigures[L any](t *testing.T, s store.Store[L]) {
	p := Plan()
	p.Extra = []store.WindowLimit{{Credits: 10, Window: time.Minute}}
	pf := planFor(p)
	l, _ := takeWith(t, s, pf, T0, req("t", "a", 1), store.ReasonNone)
	settle := func(what string, delta int64, exact bool, want store.Reason, exceeds int64) {
		t.Helper()
		d := s.Settle(T0, l, delta, exact)
		if d.Reason != want || d.Allowed != (want == store.ReasonNone) {
			t.Fatalf("%s: %+v, want reason %v", what, d, want)
		}
		figures(t, what, d, 0, 0, exceeds)
	}
	settle("10 more on 1: 11 above the minute's 10", 10, true, store.ReasonCredits, 10)
	settle("4 more on 1", 4, true, store.ReasonNone, 0)
	l2, _ := takeWith(t, s, pf, T0, req("t", "b", 3), store.ReasonNone) // the minute: 8 of 10 spent
	settle("3 more on 5: 8 fits once the other's 3 come back", 3, true, store.ReasonCredits, 0)
	settle("6 more on 5: 11", 6, true, store.ReasonCredits, 10)
	settle("2 back", -2, false, store.ReasonNone, 0)
	settle("7 more on 3: 10 fits once the other's come back", 7, true, store.ReasonCredits, 0)
	settle("8 more on 3: 11", 8, true, store.ReasonCredits, 10)
	settle("1 more, partial, on 3", 1, false, store.ReasonNone, 0)
	settle("97 more on 4: 101 above the pool", 97, true, store.ReasonCredits, 100)
	s.Release(l2)
	s.Release(l)
}
