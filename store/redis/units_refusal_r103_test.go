package redis

import (
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
