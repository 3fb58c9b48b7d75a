package redis

import (
	"errors"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// errTestSent is a step that failed after it was sent.
var errTestSent = errors.New("test: sent, no reply")

// openFor opens s's breaker for d (an outage: steps are not sent).
func openFor(s *Store, d time.Duration) {
	s.brk.mu.Lock()
	s.brk.state, s.brk.until = Open, time.Now().Add(d)
	s.brk.mu.Unlock()
}

// closeBreaker closes s's breaker (Redis is back).
func closeBreaker(s *Store) {
	s.brk.mu.Lock()
	s.brk.state, s.brk.fails, s.brk.probing = Closed, 0, false
	s.brk.mu.Unlock()
}

// A call FailOpen admits while the breaker is open (a plain outage) is
// booked as debt, charged by reconcile once Redis is back. That charge
// ran but its replies were lost: reconcile booked the debt again, and the
// next reconcile charged it under a new id, so the pool counted the
// call's 5 credits twice.
func TestReconcileOutageDebtChargedOnce(t *testing.T) {
	ca := client(t, shared.addr())
	h := &loseRuns{}
	ca.AddHook(h)
	prefix := "h64.debt" + time.Now().Format("150405.000000") + ":"
	a := newStore(t, ca, WithPrefix(prefix), WithTimeout(2*time.Second), WithFailure(FailOpen, 1),
		WithBreaker(100, time.Millisecond), WithLeaseTTL(time.Hour))
	b := newStore(t, client(t, shared.addr()), WithPrefix(prefix))
	p := store.Plan{Credits: 1000, Window: time.Hour, Concurrency: 4}
	pf := func(string) *store.Plan { return &p }
	var l Lease
	var d store.Decision
	openFor(a, time.Hour)
	a.Take(time.Now(), &store.Request{Tenant: "t", App: "x", Credits: 5}, pf, &l, &d)
	if !d.Allowed {
		t.Fatalf("FailOpen, breaker open: %+v", d)
	}
	a.Release(&l)
	closeBreaker(a)
	h.op = "charge"
	h.n.Store(3) // the debt's charge runs, unanswered, thrice
	a.reconcile()
	if h.n.Load() != 0 {
		t.Fatalf("the debt's charge was not sent thrice: %d left", h.n.Load())
	}
	a.reconcile()
	a.reconcile()
	if used := b.Peek(time.Now(), "t", 0, pf).Used; used != 5 {
		t.Fatalf("one call of 5 credits admitted, the pool counts %d: %+v", used, a.Stats())
	}
}

// Past maxOwedSteps a take that failed after it was sent is booked as
// plain debt: likewise charged under a new id at each reconcile. Here 65
// takes fail before they run (nothing charged by them); the 65th's debt
// is charged by reconcile, whose replies are lost: the pool must count
// 65 calls of 2 credits once each.
func TestReconcileDebtPastOwedStepsChargedOnce(t *testing.T) {
	ca := client(t, shared.addr())
	h := &loseRuns{}
	ca.AddHook(h)
	prefix := "h64.many" + time.Now().Format("150405.000000") + ":"
	a := newStore(t, ca, WithPrefix(prefix), WithTimeout(2*time.Second), WithFailure(FailOpen, 1),
		WithBreaker(1000, time.Millisecond), WithLeaseTTL(time.Hour))
	b := newStore(t, client(t, shared.addr()), WithPrefix(prefix))
	p := store.Plan{Credits: 1000, Window: time.Hour, Concurrency: 100}
	pf := func(string) *store.Plan { return &p }
	tn := a.tenants.get(time.Now(), "t")
	pi := a.planOf(tn, pf)
	for range maxOwedSteps + 1 { // as unavailable books takes that failed after they were sent
		tn.oweStep(pi, a.newID(), 2, errTestSent)
	}
	tn.unpin()
	if n := len(tn.owedSteps); n != maxOwedSteps || tn.owed != 2 {
		t.Fatalf("booked %d steps and %d credits", n, tn.owed)
	}
	h.op = "charge"
	h.skip.Store(maxOwedSteps) // the steps' charges answered; the plain debt's lost
	h.n.Store(3)
	a.reconcile()
	if h.n.Load() != 0 {
		t.Fatalf("the debt's charge was not sent thrice: %d left", h.n.Load())
	}
	a.reconcile()
	a.reconcile()
	if used := b.Peek(time.Now(), "t", 0, pf).Used; used != 2*(maxOwedSteps+1) {
		t.Fatalf("%d calls of 2 credits admitted, the pool counts %d: %+v", maxOwedSteps+1, used, a.Stats())
	}
}

// Degraded refuses a call for its share (spent) after the call's take
// ran in Redis and admitted there, its replies lost: the pool kept the
// take's credits for a call that never ran. Reconcile must give them back,
// once: here its first attempt's replies are lost too, and it runs thrice.
func TestDegradedRefusedTakeGivenBack(t *testing.T) {
	ca := client(t, shared.addr())
	h := &loseRuns{}
	ca.AddHook(h)
	prefix := "h64.refused" + time.Now().Format("150405.000000") + ":"
	a := newStore(t, ca, WithPrefix(prefix), WithTimeout(2*time.Second), WithFailure(Degraded, 2),
		WithBreaker(100, time.Millisecond), WithLeaseTTL(time.Hour))
	b := newStore(t, client(t, shared.addr()), WithPrefix(prefix))
	p := store.Plan{Credits: 100, Window: time.Hour, Concurrency: 4}
	pf := func(string) *store.Plan { return &p }
	now := time.Now()
	if d := b.Charge(now, "t", 90, pf); !d.Allowed {
		t.Fatalf("b: %+v", d)
	}
	var l Lease
	var d store.Decision
	a.Take(now, &store.Request{Tenant: "t", App: "x"}, pf, &l, &d) // a sees 10 left: its share is 5
	if !d.Allowed || d.Remaining != 10 {
		t.Fatalf("a: %+v", d)
	}
	a.Release(&l)
	h.op = "take"
	h.n.Store(3) // the take (admitted in Redis: 10 left) and its two replays
	a.Take(now, &store.Request{Tenant: "t", App: "x", Credits: 6}, pf, &l, &d)
	if d.Allowed || h.n.Load() != 0 {
		t.Fatalf("Degraded, share of 5, a call of 6: %+v (%d left)", d, h.n.Load())
	}
	if used := b.Peek(now, "t", 0, pf).Used; used != 96 {
		t.Fatalf("the take did not run in Redis (pool counts %d): the test shows nothing", used)
	}
	h.op = "charge"
	h.n.Store(3) // reconcile's first look at the take's record goes unanswered
	a.reconcile()
	a.reconcile()
	a.reconcile()
	if used := b.Peek(now, "t", 0, pf).Used; used != 90 {
		t.Fatalf("the call of 6 was refused, the pool counts %d of it: %+v", used-90, a.Stats())
	}
}
