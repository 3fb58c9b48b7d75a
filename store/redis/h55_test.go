package redis

import (
	"context"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// A take whose replies were all lost (it timed out on the client) may
// have run: the script then charged its credits. FailOpen admitted the
// call anyway and booked its credits to charge once Redis was back: as a
// new charge, so a take that had run was charged twice. Here the take
// runs (the proxy swallows only its replies) and Redis answers again at
// once: the pool must count the call's 5 credits once.
func TestFailOpenTakeChargedOnce(t *testing.T) {
	px := newProxy(t, shared.addr())
	c := client(t, px.l.Addr().String())
	s := newStore(t, c, WithTimeout(time.Second), WithFailure(FailOpen, 1), WithBreaker(100, time.Second),
		WithLeaseTTL(60*time.Millisecond))
	p := store.Plan{Credits: 1000, Window: time.Hour, Concurrency: 4}
	pf := func(string) *store.Plan { return &p }
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	s.Peek(time.Now(), "fo", 0, pf) // the script is loaded: the take runs
	var l Lease
	var d store.Decision
	px.drop.Store(100) // every reply of the take and its replays
	s.Take(time.Now(), &store.Request{Tenant: "fo", App: "a", Credits: 5}, pf, &l, &d)
	px.drop.Store(0)
	if !d.Allowed {
		t.Fatalf("FailOpen refused: %+v", d)
	}
	s.Release(&l)
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := s.Stats()
		if st.Reconciled+st.Unreconciled >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never reconciled: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if used := s.Peek(time.Now(), "fo", 0, pf).Used; used != 5 {
		t.Fatalf("one call of 5 credits admitted, the pool counts %d: %+v", used, s.Stats())
	}
}

// A restart without persistence forgets every slot: the calls in flight
// were no longer counted, and the cap admitted a full cap beside them,
// for as long as they ran. The store now holds its slots again at its
// next renewal (every third of the lease TTL): here a holds both slots
// of a cap of 2 across a restart, and once a has renewed, b is refused.
func TestSlotsHeldAgainAfterRestart(t *testing.T) {
	srv, err := startServer(0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.remove()
	prefix := "h55.restart:"
	a := newStore(t, client(t, srv.addr()), WithPrefix(prefix), WithLeaseTTL(60*time.Millisecond), WithBreaker(1000, time.Millisecond))
	b := newStore(t, client(t, srv.addr()), WithPrefix(prefix))
	p := store.Plan{Credits: 100, Window: time.Hour, Concurrency: 2, SubConcurrency: map[string]int64{"k": 2}}
	pf := func(string) *store.Plan { return &p }
	req := &store.Request{Tenant: "t", App: "x", Class: "k", Credits: 1}
	var la [2]Lease
	var d store.Decision
	for i := range la {
		a.Take(time.Now(), req, pf, &la[i], &d)
		if !d.Allowed {
			t.Fatalf("a: %+v", d)
		}
	}
	defer func() {
		for i := range la {
			a.Release(&la[i])
		}
	}()
	if err := srv.restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for a.Stats().LeasesLost < 2 { // a's renewal has found them gone
		if time.Now().After(deadline) {
			t.Fatalf("a never renewed after the restart: %+v", a.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // and renewed them again since
	var lb Lease
	b.Take(time.Now(), req, pf, &lb, &d)
	allowed := d.Allowed
	b.Release(&lb)
	if allowed {
		t.Fatalf("a's 2 calls are in flight under a cap of 2, and a has renewed since the restart, yet b was admitted: %+v", d)
	}
}
