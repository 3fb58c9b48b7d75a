//go:build creditgate_testhooks

package redis

import (
	"context"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// A spare that a renewal sends as a spare, but that a call takes (locally)
// before the renewal's reply comes back, is a slot of a call in flight.
// If Redis lost it (a restart without persistence, an eviction), the
// renewal reports it lost, and the store forgot it: no later renewal held
// it again, so the cap admitted another call beside it for as long as the
// call ran. Here a's call runs on such a slot under a cap of 1; after a's
// next renewal, b must be refused.
func TestSpareTakenDuringRenewalHeldAgain(t *testing.T) {
	srv, err := startServer(0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.remove()
	prefix := "h59.spare:"
	ca := client(t, srv.addr())
	// a renews only when the test says (the background's tick is an hour/3)
	a := newStore(t, ca, WithPrefix(prefix), WithLeaseTTL(time.Hour), WithCreditLeasing(64))
	b := newStore(t, client(t, srv.addr()), WithPrefix(prefix))
	p := store.Plan{Credits: 100, Window: time.Hour, Concurrency: 1}
	pf := func(string) *store.Plan { return &p }
	req := &store.Request{Tenant: "t", App: "x"}
	now := time.Now()
	var l Lease
	var d store.Decision
	a.Take(now, req, pf, &l, &d) // through Redis
	if !d.Allowed {
		t.Fatalf("a: %+v", d)
	}
	a.Release(&l)                // kept as a's spare
	a.Take(now, req, pf, &l, &d) // on the spare: used since the last sweep
	if !d.Allowed || a.Stats().Local != 1 {
		t.Fatalf("a's second call not local: %+v %+v", d, a.Stats())
	}
	a.Release(&l)
	if err := ca.FlushAll(context.Background()).Err(); err != nil { // the slot is lost
		t.Fatal(err)
	}
	var lc Lease
	renewHook = func() { // the spare was swept; a call takes it before the renewal runs
		renewHook = nil
		a.Take(now, req, pf, &lc, &d)
	}
	t.Cleanup(func() { renewHook = nil })
	a.renewAll(false)
	if !d.Allowed || a.Stats().Local != 2 {
		t.Fatalf("a's call during the renewal not local: %+v %+v", d, a.Stats())
	}
	defer a.Release(&lc)
	a.renewAll(false) // a's next renewal: its call in flight is held again
	var lb Lease
	b.Take(now, req, pf, &lb, &d)
	allowed := d.Allowed
	b.Release(&lb)
	if allowed {
		t.Fatalf("a's call is in flight under a cap of 1, and a has renewed twice since its slot was lost, yet b was admitted: %+v", d)
	}
}

// A call that ends between a renewal's sweep and the renewal's run has its
// slot released (the flusher sends the ZREM within a millisecond) before
// the renewal finds it: not held, and sent as a call in flight, the
// renewal held it again, for no call, until its lease ran out (30 s by
// default): the cap refused that long. No restart is needed: any release
// racing a renewal does it. Here the cap is 1: once a's call has ended
// and a has renewed, b must be admitted soon.
func TestReleaseDuringRenewalNotHeldAgain(t *testing.T) {
	prefix := "h59.ghost:"
	a := newStore(t, client(t, shared.addr()), WithPrefix(prefix), WithLeaseTTL(time.Hour))
	b := newStore(t, client(t, shared.addr()), WithPrefix(prefix))
	p := store.Plan{Credits: 100, Window: time.Hour, Concurrency: 1}
	pf := func(string) *store.Plan { return &p }
	req := &store.Request{Tenant: "t", App: "x"}
	now := time.Now()
	var l Lease
	var d store.Decision
	a.Take(now, req, pf, &l, &d)
	if !d.Allowed {
		t.Fatalf("a: %+v", d)
	}
	akey, member := l.akey, l.member
	c := client(t, shared.addr())
	renewHook = func() { // swept in flight; the call ends, its release reaches Redis first
		renewHook = nil
		a.Release(&l)
		deadline := time.Now().Add(5 * time.Second)
		for c.ZScore(context.Background(), akey, member).Err() == nil {
			if time.Now().After(deadline) {
				t.Error("a's release never reached Redis")
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	t.Cleanup(func() { renewHook = nil })
	a.renewAll(false)
	deadline := time.Now().Add(2 * time.Second)
	for {
		var lb Lease
		b.Take(now, req, pf, &lb, &d)
		allowed := d.Allowed
		b.Release(&lb)
		if allowed {
			return
		}
		if time.Now().After(deadline) {
			n, _ := c.ZCard(context.Background(), akey).Result()
			t.Fatalf("a's only call ended and a renewed since, yet b is refused under a cap of 1 (%d slot held): %+v", n, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
