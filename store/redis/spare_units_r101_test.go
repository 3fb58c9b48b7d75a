package redis

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// With credit leasing, an instance keeps the slot of a call of one unit as
// a spare for its next call, and keeps it while calls use it (a sweep
// drops only spares unused since the last). That spare is a unit of the
// application's cap in Redis: a composite call of 5 units on a cap of 5 is
// then refused for concurrency with no call in flight anywhere, for as
// long as one-unit calls go on (a gateway serving both: composite calls
// get 429 for good).
func TestCompositeNotRefusedByOwnSpare_r101(t *testing.T) {
	c := client(t, shared.addr())
	s := newStore(t, c, WithCreditLeasing(64))
	p := store.Plan{Name: "free", Credits: 1 << 20, Window: time.Hour, Concurrency: 5}
	pf := func(string) *store.Plan { return &p }
	take := func(units int64) (*Lease, store.Decision) {
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "t", App: "a", Credits: 1, Units: units}, pf, &l, &d)
		return &l, d
	}
	var akey string
	for i := range 3 { // calls of one unit, one at a time
		l, d := take(1)
		if !d.Allowed {
			t.Fatalf("call %d of one unit refused: %+v", i, d)
		}
		akey = l.akey
		s.Release(l)
	}
	l, d := take(5)
	if !d.Allowed {
		t.Fatalf("a composite call of 5 units on a cap of 5, no call in flight: refused (%v); the app's key holds %d members",
			d.Reason, c.ZCard(t.Context(), akey).Val())
	}
	s.Release(l)
}

// The same across instances: b's spare, kept while b's calls of one unit
// go on, refuses a's composite call with no call in flight. a does not
// know b's spares, nor does Redis (a spare is kept with no round trip),
// so a's first try may be refused; but it must not be refused for as long
// as b's calls go on. Adapted from r101: a's composite call retries (as a
// gateway's client does) while b's one-unit calls go on, and is admitted
// within a few of b's renewals.
func TestCompositeNotRefusedByOthersSpare_r101(t *testing.T) {
	c := client(t, shared.addr())
	prefix := "r101spare" + time.Now().Format("150405.000000") + ":"
	a := newStore(t, c, WithPrefix(prefix))
	b := newStore(t, c, WithPrefix(prefix), WithCreditLeasing(64), WithLeaseTTL(30*time.Millisecond))
	p := store.Plan{Name: "free", Credits: 1 << 20, Window: time.Hour, Concurrency: 5}
	pf := func(string) *store.Plan { return &p }
	take := func(s *Store, units int64) (*Lease, store.Decision) {
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "t", App: "a", Credits: 1, Units: units}, pf, &l, &d)
		return &l, d
	}
	one := func(i int) {
		l, d := take(b, 1)
		if !d.Allowed {
			t.Fatalf("b's call %d of one unit refused: %+v", i, d)
		}
		b.Release(l)
	}
	for i := range 3 {
		one(i)
	}
	tries := 0
	for deadline := time.Now().Add(2 * time.Second); ; tries++ {
		l, d := take(a, 5)
		if d.Allowed {
			a.Release(l)
			break
		}
		if d.Reason != store.ReasonConcurrency || time.Now().After(deadline) {
			t.Fatalf("a's composite call of 5 units on a cap of 5, no call in flight: refused (%v) after %d tries while b's calls of one unit went on", d.Reason, tries)
		}
		one(tries)
		time.Sleep(time.Millisecond)
	}
	t.Logf("admitted after %d refusals", tries)
}
