package redis

import (
	"sync"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// A take that reused the pair's spare and was refused gives the spare back;
// if a call of the pair ended meanwhile and became the spare, the pair keeps
// one, not two: the other is released.
func TestSparePutBackKeepsOne(t *testing.T) {
	var h leases
	h.init()
	tn := &tenant{}
	const pair = "a\x00"
	a := &Lease{t: tn, member: "m1", pair: pair, kind: remoteLease}
	b := &Lease{t: tn, member: "m2", pair: pair, kind: remoteLease}
	h.add(a)
	h.add(b)
	if !h.spare(a) {
		t.Fatal("the pair's first spare was not kept")
	}
	x := h.popSpare(tn, pair) // a take reuses it
	if !h.spare(b) {          // another call ends meanwhile
		t.Fatal("the pair had no spare, yet b was not kept")
	}
	h.pushSpare(x) // the take was refused
	if n := len(h.spares[spareKey{tn, pair}]); n > maxSpares {
		t.Fatalf("the pair keeps %d spares", n)
	}
	if n := len(h.m); n > maxSpares {
		t.Fatalf("%d slots held with no call in flight, at most %d spare", n, maxSpares)
	}
}

// A spare kept under a plan that capped its class is not reused once the
// plan no longer caps it (its slot counts in the class's key); it is
// released then, not kept for a plan that may never come back, so the
// class's slot is free for the other instances at once.
func TestSpareOfAnotherPlanReleased(t *testing.T) {
	prefix := "sparesplan" + time.Now().Format("150405.000000") + ":"
	a := newStore(t, client(t, shared.addr()), WithPrefix(prefix), WithCreditLeasing(64), WithLeaseTTL(30*time.Second))
	b := newStore(t, client(t, shared.addr()), WithPrefix(prefix), WithCreditLeasing(64), WithLeaseTTL(30*time.Second))
	capped := store.Plan{Credits: 1 << 30, Window: time.Hour, Concurrency: 4, SubConcurrency: map[string]int64{"bulk": 1}}
	uncapped := store.Plan{Credits: 1 << 30, Window: time.Hour, Concurrency: 4}
	var mu sync.Mutex
	cur := &capped
	pf := func(string) *store.Plan { mu.Lock(); defer mu.Unlock(); return cur }
	use := func(p *store.Plan) { mu.Lock(); cur = p; mu.Unlock() }
	call := func(s *Store) bool {
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "t", App: "a", Class: "bulk", Credits: 1}, pf, &l, &d)
		if d.Allowed {
			s.Release(&l)
		}
		return d.Allowed
	}
	if !call(a) { // a keeps its slot as the pair's spare, in the class's key
		t.Fatal("the first bulk call was refused")
	}
	use(&uncapped)
	if !call(a) { // pops that spare, which this plan cannot use
		t.Fatal("a bulk call under the uncapped plan was refused")
	}
	use(&capped)
	deadline := time.Now().Add(2 * time.Second) // the release is queued, then flushed
	for !call(b) {
		if time.Now().After(deadline) {
			t.Fatal("b's bulk call is still refused: a's spare of the capped plan holds the class's one slot")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A spare slot pins its tenant. Before, a trim dropped a tenant whose only
// hold was its spare (spares are kept by tenant, and pinned nothing): the
// tenant made anew for the next call found no spare, and the old one held
// the application's only slot in Redis, so that call was refused until
// the renewer gave the spare back, up to two renewal periods later.
func TestSparePinsTenant(t *testing.T) {
	s := newStore(t, client(t, shared.addr()), WithCreditLeasing(64), WithLeaseTTL(30*time.Second))
	s.tenants.max = 1
	p := store.Plan{Credits: 1000, Window: time.Hour, Concurrency: 1}
	pf := func(string) *store.Plan { return &p }
	now := time.Now()
	call := func() store.Decision {
		var l Lease
		var d store.Decision
		if s.Take(now, &store.Request{Tenant: "t", App: "a", Credits: 1}, pf, &l, &d); d.Allowed {
			s.Release(&l) // the slot stays as the pair's spare
		}
		return d
	}
	if d := call(); !d.Allowed {
		t.Fatalf("first call: %+v", d)
	}
	s.giveBackBlocks(now, true) // as a renewal tick finding the block unused: the spare is all "t" holds
	s.Peek(now, "other", 0, pf) // past the cap of 1: a trim
	if d := call(); !d.Allowed {
		t.Errorf("the application's next call, on an instance holding its one slot as a spare: %+v", d)
	}
}

// A spare kept from a call of a plan that did not cap its class (its slot
// is in no class key) is not reused without a round trip once the plan
// caps the class. takeLocal popped it with no look at its class key: with
// the new plan's block leased, a second bulk call was admitted beside the
// first while the plan allows one (the class's key counted only the first).
func TestSpareOfAnotherPlanNotUsedLocally(t *testing.T) {
	prefix := "sparelocal" + time.Now().Format("150405.000000") + ":"
	s := newStore(t, client(t, shared.addr()), WithPrefix(prefix), WithCreditLeasing(64), WithLeaseTTL(30*time.Second))
	capped := store.Plan{Credits: 1 << 30, Window: time.Hour, Concurrency: 4, SubConcurrency: map[string]int64{"bulk": 1}}
	uncapped := store.Plan{Credits: 1 << 30, Window: time.Hour, Concurrency: 4}
	var mu sync.Mutex
	cur := &uncapped
	pf := func(string) *store.Plan { mu.Lock(); defer mu.Unlock(); return cur }
	take := func(l *Lease) store.Decision {
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "t", App: "a", Class: "bulk", Credits: 1}, pf, l, &d)
		return d
	}
	var l1, l2, l3 Lease
	if d := take(&l1); !d.Allowed { // uncapped: no class slot
		t.Fatalf("first bulk call: %+v", d)
	}
	mu.Lock()
	cur = &capped
	mu.Unlock()
	if d := take(&l2); !d.Allowed { // the class's one slot, and a block of this plan
		t.Fatalf("the first bulk call of the capped plan: %+v", d)
	}
	s.Release(&l1) // kept as the pair's spare: a slot in no class key
	if d := take(&l3); d.Allowed {
		s.Release(&l3)
		t.Errorf("a second bulk call admitted beside the first, with a cap of one: %+v", d)
	}
	s.Release(&l2)
}
