package redis

import (
	"strconv"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/store/memory"
)

// A take of more units than the cap is refused without a round trip. Its
// Decision says Limit 0, which store.Decision documents as "no pool was
// read: a full store, or a shared store out of reach deciding alone" (the
// middleware then shows no limit headers); the memory store's same refusal
// reports the tenant's pool. Redis was reachable and the tenant is held.
func TestUnitsOverCapDecisionAsMemory_r103(t *testing.T) {
	c := client(t, shared.addr())
	prefix := "r103dec" + time.Now().Format("150405.000000") + ":"
	s := newStore(t, c, WithPrefix(prefix))
	m := memory.New()
	p := store.Plan{Name: "free", Credits: 1000, Window: time.Hour, Concurrency: 5}
	pf := func(string) *store.Plan { return &p }
	now := time.Now()
	var rl Lease
	var rd store.Decision
	s.Take(now, &store.Request{Tenant: "t", App: "a", Credits: 10}, pf, &rl, &rd)
	var ml memory.Lease
	var md store.Decision
	m.Take(now, &store.Request{Tenant: "t", App: "a", Credits: 10}, pf, &ml, &md)
	if !rd.Allowed || !md.Allowed {
		t.Fatalf("first takes: redis %+v, memory %+v", rd, md)
	}
	s.Take(now, &store.Request{Tenant: "t", App: "b", Credits: 10, Units: 6}, pf, &rl, &rd)
	m.Take(now, &store.Request{Tenant: "t", App: "b", Credits: 10, Units: 6}, pf, &ml, &md)
	if rd.Allowed || rd.Reason != store.ReasonConcurrency || md.Reason != store.ReasonConcurrency {
		t.Fatalf("6 units on a cap of 5: redis %+v, memory %+v", rd, md)
	}
	if rd.Limit != md.Limit || rd.Remaining != md.Remaining || rd.Used != md.Used {
		t.Fatalf("6 units on a cap of 5, tenant held, Redis up:\n redis  Limit %d Remaining %d Used %d\n memory Limit %d Remaining %d Used %d",
			rd.Limit, rd.Remaining, rd.Used, md.Limit, md.Remaining, md.Used)
	}
}

// Redis out of reach, a take of more units than the cap is refused all the
// same, in every failure mode (FailOpen admits nothing of it, Degraded
// names no share), and says no pool was read: Limit 0. The failed read
// counts on the breaker; once open, the refusal makes no round trip.
func TestUnitsOverCapOutOfReach(t *testing.T) {
	p := store.Plan{Name: "free", Credits: 1000, Window: time.Hour, Concurrency: 5}
	pf := func(string) *store.Plan { return &p }
	for _, mode := range []Mode{FailClosed, FailOpen, Degraded} {
		t.Run(mode.String(), func(t *testing.T) {
			port, err := freePort()
			if err != nil {
				t.Fatal(err)
			}
			s := newStore(t, client(t, "127.0.0.1:"+strconv.Itoa(port)), WithFailure(mode, 2), WithBreaker(1, time.Hour))
			want := store.Decision{Reason: store.ReasonConcurrency, Cost: 10, Cap: 5, Window: time.Hour, RetryAfter: store.ConcurrencyRetryAfter} // the cap that refuses is known without Redis
			for i := range 2 {
				before := s.Stats()
				var l Lease
				var d store.Decision
				s.Take(time.Now(), &store.Request{Tenant: "t", App: "a", Credits: 10, Units: 6}, pf, &l, &d)
				if d != want {
					t.Fatalf("take %d: %+v, want %+v", i, d, want)
				}
				st := s.Stats()
				if st.OutageAdmitted != 0 || st.Refused != 0 {
					t.Fatalf("take %d: stats %+v", i, st)
				}
				if i == 1 && st.RoundTrips != before.RoundTrips {
					t.Fatalf("breaker open (%v): the refusal made %d round trips", s.Circuit(), st.RoundTrips-before.RoundTrips)
				}
			}
			if s.Circuit() != Open {
				t.Fatalf("circuit %v after a failed read", s.Circuit())
			}
		})
	}
}

// The cap the refusal is judged on is the plan Redis holds: an instance
// that had not yet seen a plan SetPlan stored (another instance's) learns
// it from the read, and a call that plan admits is taken, not refused.
func TestUnitsOverCapUnderStoredPlan(t *testing.T) {
	prefix := "r103set" + time.Now().Format("150405.000000") + ":"
	a := newStore(t, client(t, shared.addr()), WithPrefix(prefix))
	b := newStore(t, client(t, shared.addr()), WithPrefix(prefix))
	p := store.Plan{Name: "free", Credits: 1000, Window: time.Hour, Concurrency: 5}
	pf := func(string) *store.Plan { return &p }
	var l Lease
	var d store.Decision
	a.Take(time.Now(), &store.Request{Tenant: "t", App: "a", Credits: 10}, pf, &l, &d) // held in Redis
	if !d.Allowed {
		t.Fatalf("first take: %+v", d)
	}
	a.Release(&l)
	big := store.Plan{Name: "big", Credits: 2000, Window: time.Hour, Concurrency: 8}
	if err := b.SetPlan(time.Now(), "t", &big); err != nil {
		t.Fatal(err)
	}
	a.Take(time.Now(), &store.Request{Tenant: "t", App: "a", Credits: 10, Units: 6}, pf, &l, &d)
	if !d.Allowed || d.Limit != 2000 {
		t.Fatalf("6 units, a cap of 8 stored in Redis: %+v", d)
	}
	a.Release(&l)
	a.Take(time.Now(), &store.Request{Tenant: "t", App: "a", Credits: 10, Units: 9}, pf, &l, &d)
	if d.Allowed || d.Reason != store.ReasonConcurrency || d.Limit != 2000 || d.Remaining != 1980 || d.Used != 20 {
		t.Fatalf("9 units on a cap of 8: %+v", d)
	}
}
