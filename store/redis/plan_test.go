package redis

import (
	"context"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// A plan set through one instance reaches the others, whose callers still
// give the old one; it goes with the tenant's keys when they expire.
// (Before the reply said whether Redis holds a plan, an instance kept the
// one it had learned for good.)
func TestSetPlanReachesAllInstances(t *testing.T) {
	c := client(t, shared.addr())
	a := newStore(t, c, WithPrefix("plans.reach:"))
	b := newStore(t, c, WithPrefix("plans.reach:"))
	def := store.Plan{Credits: 100, Window: time.Hour, Concurrency: 2}
	pf := func(string) *store.Plan { return &def }
	take := func(s *Store) store.Decision {
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "t", App: "x", Credits: 1}, pf, &l, &d)
		s.Release(&l)
		return d
	}
	if d := take(a); d.Limit != 100 {
		t.Fatalf("before: %+v", d)
	}
	up := def
	up.Credits = 300
	if err := a.SetPlan(time.Now(), "t", &up); err != nil {
		t.Fatal(err)
	}
	if d := b.Peek(time.Now(), "t", 0, pf); d.Limit != 300 || d.Used != 1 {
		t.Fatalf("the other instance peeks the old plan: %+v", d)
	}
	if d := take(b); d.Limit != 300 || d.Remaining != 298 {
		t.Fatalf("the other instance takes under the old plan: %+v", d)
	}
	if err := c.Del(context.Background(), windowKey(a, "t")).Err(); err != nil { // as if idle past its ttl
		t.Fatal(err)
	}
	// Each instance's next step may still run the plan it last saw (and
	// learns that Redis holds none); the one after runs its callers'.
	take(b)
	take(a)
	for _, s := range []*Store{a, b} {
		if d := take(s); d.Limit != 100 {
			t.Fatalf("an instance kept a plan Redis forgot: %+v", d)
		}
	}
}
