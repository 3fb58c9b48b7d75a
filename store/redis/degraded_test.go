package redis

import (
	"strconv"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// downStore is a store whose Redis is unreachable, in Degraded mode for
// two instances, its breaker opening at the first failure.
func downStore(t *testing.T) *Store {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return newStore(t, client(t, "127.0.0.1:"+strconv.Itoa(port)), WithFailure(Degraded, 2),
		WithBreaker(1, time.Hour))
}

// The degraded share is the tenant's, whatever pointer the PlanFunc hands
// out for the same plan (the contract does not ask for stable pointers,
// and the store's plan cache starts over past maxPlans): before, each new
// pointer made a new share, and every take was admitted.
func TestDegradedShareSurvivesNewPlanPointers(t *testing.T) {
	s := downStore(t)
	base := store.Plan{Credits: 10, Window: time.Hour, Concurrency: 4}
	pf := func(string) *store.Plan { p := base; return &p }
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	admitted := 0
	for i := range 10 { // one after another: 1/2 of the 10 credits
		var l Lease
		var d store.Decision
		s.Take(t0.Add(time.Duration(i)*time.Second), &store.Request{Tenant: "d", App: "a", Credits: 1}, pf, &l, &d)
		if d.Allowed {
			admitted++
			s.Release(&l)
		}
	}
	if admitted != 5 {
		t.Fatalf("admitted %d credits from a share of 5", admitted)
	}
	held := 0
	for range 4 { // at once, free calls: ceil(4/2) slots
		var l Lease
		var d store.Decision
		s.Take(t0.Add(time.Minute), &store.Request{Tenant: "d", App: "b"}, pf, &l, &d)
		if d.Allowed {
			held++
		}
	}
	if held != 2 {
		t.Fatalf("%d calls in flight on a share of 2 slots", held)
	}
}

// During an outage the calls in flight hold their slots in the tenant's
// degraded share, whichever plan made it: a plan change (SetPlan, a
// PlanFunc's answer) makes a share that counts the slots the old share's
// calls still hold, and the release of such a call gives its slot back to
// the share that counts it, once. Before, a share made anew counted none
// of them (under b, 1 slot per application, a's 2 calls ran on beside a
// third; back under a, 2 more beside b's), and a's releases went to a's
// share, which no take looked at any more.
func TestDegradedSlotsAcrossPlanChange(t *testing.T) {
	s := downStore(t)
	plans := map[string]*store.Plan{ // the shares of two instances:
		"a": {Credits: 100, Window: time.Hour, Concurrency: 4, SubConcurrency: map[string]int64{"bulk": 2}}, // 2 per app, 1 bulk
		"b": {Credits: 100, Window: time.Hour, Concurrency: 2, SubConcurrency: map[string]int64{"bulk": 2}}, // 1 per app, 1 bulk
	}
	cur := plans["a"]
	pf := func(string) *store.Plan { return cur }
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	take := func(plan, app, class string, want bool) *Lease {
		t.Helper()
		cur = plans[plan]
		l := new(Lease)
		var d store.Decision
		s.Take(t0, &store.Request{Tenant: "d", App: app, Class: class, Credits: 1}, pf, l, &d)
		if d.Allowed != want {
			t.Fatalf("app %q class %q under %s: allowed %v, want %v (%+v)", app, class, plan, d.Allowed, want, d)
		}
		return l
	}
	// released before the change: nothing held under b
	w := take("a", "w", "", true)
	s.Release(w)
	w = take("b", "w", "", true)
	take("b", "w", "", false)
	s.Release(w)

	// in flight across the change, released after it
	x0, x1 := take("a", "x", "", true), take("a", "x", "", true)
	take("a", "x", "", false)
	take("b", "x", "", false) // a's 2 calls hold b's 1 slot and more
	s.Release(x0)
	s.Release(x0) // a second release gives nothing back
	take("b", "x", "", false)
	s.Release(x1)
	x2 := take("b", "x", "", true)
	take("b", "x", "", false)      // no slot leaked by a's releases
	x3 := take("a", "x", "", true) // back under a: b's call holds 1 of 2
	take("a", "x", "", false)
	s.Release(x2)
	s.Release(x3)
	x0, x1 = take("a", "x", "", true), take("a", "x", "", true)
	take("a", "x", "", false)
	s.Release(x0)
	s.Release(x1)

	// a capped class's slot, in other applications
	p := take("a", "p", "bulk", true)
	take("b", "q", "bulk", false)
	s.Release(p)
	q := take("b", "q", "bulk", true)
	take("b", "r", "bulk", false)
	take("a", "r", "bulk", false)
	s.Release(q)
	s.Release(take("a", "r", "bulk", true))
}

// A refund of a degraded lease goes back into its own share: a share made
// anew for another plan never gave those credits.
func TestDegradedRefundAfterPlanChange(t *testing.T) {
	s := downStore(t)
	a := store.Plan{Credits: 10, Window: time.Hour, Concurrency: 2}
	b := store.Plan{Credits: 20, Window: time.Hour, Concurrency: 2}
	cur := &a
	pf := func(string) *store.Plan { return cur }
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var la Lease
	var d store.Decision
	s.Take(t0, &store.Request{Tenant: "d", App: "a", Credits: 1}, pf, &la, &d)
	if !d.Allowed {
		t.Fatalf("under a: %+v", d)
	}
	cur = &b
	var lb Lease
	s.Take(t0, &store.Request{Tenant: "d", App: "x", Credits: 1}, pf, &lb, &d) // b's share: 20/2, 9 left
	if !d.Allowed {
		t.Fatalf("under b: %+v", d)
	}
	s.Settle(t0, &la, -1, false)
	admitted := 0
	for i := range 20 {
		var l Lease
		s.Take(t0, &store.Request{Tenant: "d", App: "b" + strconv.Itoa(i), Credits: 1}, pf, &l, &d)
		if d.Allowed {
			admitted++
			s.Release(&l)
		}
	}
	if admitted != 9 {
		t.Fatalf("admitted %d more credits from a share of 10, 1 spent", admitted)
	}
}

// The degraded share keeps every window of the plan, 1/N of each: it kept
// the pool's alone, so an extra window longer than the pool gave its
// credits back with the pool's (an outage of an hour admitted a share of
// 10 credits a minute against a share of 20 an hour), and a shorter one
// bounded no burst. A trim keeps the tenant while any of the share's
// windows has spending out (a share made anew would start empty), also
// when the pool's has none and Redis has come back meanwhile (a flap).
func TestDegradedShareKeepsExtraWindows(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	longer := store.Plan{Credits: 20, Window: time.Minute, Concurrency: 4,
		Extra: []store.WindowLimit{{Credits: 40, Window: time.Hour}}}
	shorter := store.Plan{Credits: 100, Window: time.Hour, Concurrency: 4,
		Extra: []store.WindowLimit{{Credits: 4, Window: 10 * time.Second}}}
	// every is n instants d apart from start
	every := func(start, d time.Duration, n int) (out []time.Duration) {
		for i := range n {
			out = append(out, start+time.Duration(i)*d)
		}
		return out
	}
	for _, c := range []struct {
		name  string
		plan  store.Plan
		takes []time.Duration // of 1 credit each, from t0
		trim  time.Duration   // a trim, from t0, before the takes then
		want  int             // the share: 1/2 of the binding window's credits
	}{
		{"longer", longer, every(0, 10*time.Second, 360), 30 * time.Minute, 20},
		{"longer, the pool's share idle at the trim", longer,
			append(every(0, 0, 5), every(30*time.Minute, 10*time.Second, 180)...), 30 * time.Minute, 20},
		{"shorter", shorter, every(0, 0, 100), time.Second, 2},
	} {
		s := downStore(t)
		pf := func(string) *store.Plan { return &c.plan }
		admitted, trimmed := 0, false
		for _, at := range c.takes {
			if !trimmed && at >= c.trim {
				if v, ok := s.tenants.m.Load("d"); ok { // as if Redis came back: releases sent, debt booked
					tn := v.(*tenant)
					tn.mu.Lock()
					tn.owed, tn.pend = 0, nil
					tn.mu.Unlock()
				}
				s.tenants.max, trimmed = 0, true
				s.tenants.trim(t0.Add(at))
			}
			var l Lease
			var d store.Decision
			if s.Take(t0.Add(at), &store.Request{Tenant: "d", App: "a", Credits: 1}, pf, &l, &d); d.Allowed {
				admitted++
				s.Release(&l)
			}
		}
		if admitted != c.want {
			t.Errorf("%s: admitted %d credits from a share of %d", c.name, admitted, c.want)
		}
	}
}

// A plan change during an outage does not hand out a fresh share: the
// share made for the new plan is charged with what the tenant spent from
// the old one. Before, each change made a share with nothing spent, and
// a PlanFunc alternating between two plans (two limiters of a fleet on
// different plans, a plan rolled out and back) had every take admitted.
func TestDegradedShareKeepsSpendingAcrossPlans(t *testing.T) {
	s := downStore(t)
	a := store.Plan{Credits: 10, Window: time.Hour, Concurrency: 4}
	b := store.Plan{Credits: 20, Window: time.Hour, Concurrency: 4}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	admitted := 0
	for i := range 40 {
		p := &a
		if i%2 == 1 {
			p = &b
		}
		pf := func(string) *store.Plan { return p }
		var l Lease
		var d store.Decision
		s.Take(t0.Add(time.Duration(i)*time.Second), &store.Request{Tenant: "d", App: "a", Credits: 1}, pf, &l, &d)
		if d.Allowed {
			admitted++
			s.Release(&l)
		}
	}
	if admitted > 10 { // the larger plan's share: 20 credits for two instances
		t.Fatalf("admitted %d credits within an hour from shares of 5 and 10", admitted)
	}
}
