package redis

import (
	"context"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// A call of several units holds that many members of its application's key
// (shared by every instance), renewed together and all given back on
// Release; with credit leasing it is never kept as a spare, which would
// hold the units from every instance (on Zoho Free one composite call is
// the whole cap).
func TestUnitsAcrossInstances(t *testing.T) {
	c := client(t, shared.addr())
	prefix := "units" + time.Now().Format("150405.000000") + ":"
	// Renewals (every ttl/3) must keep the units held across the sleep:
	// with 300 ms a renewal late by 200 ms (-race on two busy cores) would
	// let them run out and the refusals below admit, as units_hammer_r103's
	// 40 ms did (session 25). 900 ms leave room for one late by 600 ms.
	ttl := 900 * time.Millisecond
	a := newStore(t, c, WithPrefix(prefix), WithCreditLeasing(64), WithLeaseTTL(ttl))
	b := newStore(t, c, WithPrefix(prefix), WithLeaseTTL(ttl))
	p := store.Plan{Credits: 1 << 30, Window: time.Hour, Concurrency: 5, SubConcurrency: map[string]int64{"composite": 10}}
	pf := func(string) *store.Plan { return &p }
	take := func(s *Store, units int64) (*Lease, store.Decision) {
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "t", App: "a", Class: "composite", Credits: 1, Units: units}, pf, &l, &d)
		return &l, d
	}
	card := func(key string) int64 {
		n, err := c.ZCard(context.Background(), key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for round := range 2 { // the second round: after a release that left no spare
		l, d := take(a, 5)
		if !d.Allowed {
			t.Fatalf("round %d: a call of 5 units on a cap of 5 refused: %+v", round, d)
		}
		if n := card(l.akey); n != 5 {
			t.Fatalf("round %d: the app's key holds %d members for a call of 5 units", round, n)
		}
		if n := card(l.ckey); n != 1 {
			t.Fatalf("round %d: the class's key holds %d members, a call takes one unit of it", round, n)
		}
		time.Sleep(2 * ttl) // renewals keep every unit held
		if _, d := take(b, 1); d.Allowed || d.Reason != store.ReasonConcurrency {
			t.Fatalf("round %d: another instance's call admitted beside 5 units held of 5: %+v", round, d)
		}
		if _, d := take(a, 1); d.Allowed || d.Reason != store.ReasonConcurrency {
			t.Fatalf("round %d: a call admitted beside 5 units held of 5: %+v", round, d)
		}
		akey, ckey := l.akey, l.ckey
		a.Release(l)
		deadline := time.Now().Add(5 * time.Second) // the release is queued, then flushed
		for card(akey) != 0 || card(ckey) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %d units still held after the release", round, card(akey))
			}
			time.Sleep(20 * time.Millisecond)
		}
		lb, d := take(b, 5)
		if !d.Allowed {
			t.Fatalf("round %d: b's call of 5 units refused once a's were back: %+v", round, d)
		}
		b.Release(lb)
		for card(akey) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: b's units still held after its release", round)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// The degraded share counts units too: ceil(10/2) = 5 of the application's
// cap for each of two instances.
func TestDegradedUnits(t *testing.T) {
	s := downStore(t)
	p := store.Plan{Credits: 100, Window: time.Hour, Concurrency: 10}
	pf := func(string) *store.Plan { return &p }
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	take := func(units int64) (*Lease, store.Decision) {
		var l Lease
		var d store.Decision
		s.Take(t0, &store.Request{Tenant: "d", App: "a", Units: units}, pf, &l, &d)
		return &l, d
	}
	l, d := take(5)
	if !d.Allowed {
		t.Fatalf("5 units on a share of 5 refused: %+v", d)
	}
	if _, d := take(1); d.Allowed || d.Reason != store.ReasonConcurrency {
		t.Fatalf("a sixth unit admitted: %+v", d)
	}
	if _, d := take(6); d.Allowed {
		t.Fatal("6 units admitted on a share of 5")
	}
	s.Release(l)
	l, d = take(3)
	l2, d2 := take(2)
	if !d.Allowed || !d2.Allowed {
		t.Fatalf("3 + 2 units refused once 5 came back: %+v, %+v", d, d2)
	}
	s.Release(l)
	s.Release(l2)
}

func TestMemberUnits(t *testing.T) {
	for _, tc := range []struct {
		units int64
		want  int64
	}{{-1, 1}, {0, 1}, {1, 1}, {5, 5}, {store.MaxConcurrency, store.MaxConcurrency}} {
		m := unitMember("Ab-_.1z", tc.units)
		if got := memberUnits(m); got != tc.want {
			t.Errorf("units %d: member %q reads %d", tc.units, m, got)
		}
		if tc.want < 100 {
			if got := int64(len(unitMembers(m))); got != tc.want {
				t.Errorf("units %d: %d members", tc.units, got)
			}
		}
	}
	for _, m := range []string{"open", "degraded", "x*", "x*-3", "x*y"} {
		if got := memberUnits(m); got != 1 {
			t.Errorf("%q reads %d units", m, got)
		}
	}
}
