package redis

import (
	"context"
	"strings"
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
	prefix := "plans.reach" + time.Now().Format("150405.000000") + ":" // each run its own keys (-count)
	a := newStore(t, c, WithPrefix(prefix))
	b := newStore(t, c, WithPrefix(prefix))
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

// The tenant's key outlives the calendar periods its credits count in. Its
// expiry was set a window's nominal length after the step that opened the
// period, and the day the clocks go back has 25 hours: the key (and the
// credits spent that day) went an hour before the day's period ended, and
// the tenant had its day's credits again for that hour, whether the day is
// the pool or an extra window longer than it.
func TestKeyOutlivesCalendarPeriod(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Skip(err)
	}
	c := client(t, shared.addr())
	s := newStore(t, c, WithClientTime())
	now := time.Date(2026, 11, 1, 0, 0, 30, 0, la) // a 25-hour day
	end := time.Date(2026, 11, 2, 0, 0, 0, 0, la)
	day := &store.Calendar{Location: la}
	for name, p := range map[string]store.Plan{
		"pool": {Credits: 100, Window: 24 * time.Hour, Calendar: day, Concurrency: 4},
		"extra": {Credits: 100, Window: time.Minute, Concurrency: 4,
			Extra: []store.WindowLimit{{Credits: 1000, Window: 24 * time.Hour, Calendar: day}}},
	} {
		var l Lease
		var d store.Decision
		if s.Take(now, &store.Request{Tenant: name, App: "a", Credits: 10}, func(string) *store.Plan { return &p }, &l, &d); !d.Allowed {
			t.Fatalf("%s: %+v", name, d)
		}
		s.Release(&l)
		if ttl := c.PTTL(context.Background(), windowKey(s, name)).Val(); ttl < end.Sub(now) {
			t.Errorf("%s: the key expires in %v, the day's period ends in %v", name, ttl, end.Sub(now))
		}
	}
}

// A plan's add-on credits go with it through Redis (SetPlan on one instance,
// read by another); a plan without them encodes as plans did before.
func TestPlanEncodingKeepsAddOns(t *testing.T) {
	p := store.Plan{Name: "e", Credits: 100, Window: time.Hour, Concurrency: 2, AddOns: 40}
	q, err := decodePlan(encodePlan(&p))
	if err != nil || q.AddOns != 40 || q.Allowance() != 60 {
		t.Fatalf("decoded %+v, %v", q, err)
	}
	p.AddOns = 0
	if enc := encodePlan(&p); strings.Contains(enc, "add_ons") {
		t.Errorf("a plan without add-ons encodes them: %s", enc)
	}
}
