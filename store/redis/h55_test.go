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
