//go:build creditgate_testhooks

package redis

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// trimDuring caps s's tenant cache at 2 and has other callers make three
// new tenants just as a step gets victim's (between the get and the step's
// first change to it), which takes the cache past its cap.
func trimDuring(t *testing.T, s *Store, now time.Time, victim string) {
	s.tenants.max = 2
	pf := func(string) *store.Plan { return &store.Plan{Credits: 1000, Window: time.Hour, Concurrency: 4} }
	gotHook = func(name string) {
		if name != victim {
			return
		}
		gotHook = nil
		for i := range 3 {
			s.Peek(now, fmt.Sprint("other", i), 0, pf)
		}
	}
	t.Cleanup(func() { gotHook = nil })
}

// A trim racing with a degraded take must not drop the tenant the take
// gives a share to: the next take found no share, made a fresh one and
// admitted a second 1/N of the pool (and ignored the slot held).
func TestTrimKeepsDegradedShare(t *testing.T) {
	s := downStore(t)
	p := store.Plan{Credits: 10, Window: time.Hour, Concurrency: 2} // a share: 5 credits, 1 slot
	pf := func(string) *store.Plan { return &p }
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	trimDuring(t, s, t0, "d")
	var first Lease
	var d store.Decision
	s.Take(t0, &store.Request{Tenant: "d", App: "a", Credits: 1}, pf, &first, &d)
	if !d.Allowed {
		t.Fatalf("first take: %+v", d)
	}
	admitted := 1
	var l Lease
	if s.Take(t0, &store.Request{Tenant: "d", App: "a", Credits: 1}, pf, &l, &d); d.Allowed {
		t.Errorf("two calls in flight on a share of 1 slot: %+v", d)
		admitted++
		s.Release(&l)
	}
	s.Release(&first)
	for i := range 10 {
		s.Take(t0.Add(time.Duration(i+1)*time.Second), &store.Request{Tenant: "d", App: "a", Credits: 1}, pf, &l, &d)
		if d.Allowed {
			admitted++
			s.Release(&l)
		}
	}
	if admitted != 5 {
		t.Errorf("admitted %d credits from a share of 5", admitted)
	}
}

// A trim racing with a fail-open take must not drop the tenant the take
// books its debt on: reconcile walks the cache, and never charged it.
func TestTrimKeepsDebt(t *testing.T) {
	srv, err := startServer(0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.remove()
	s := newStore(t, client(t, srv.addr()), WithFailure(FailOpen, 1), WithBreaker(1, 50*time.Millisecond),
		WithLeaseTTL(300*time.Millisecond), WithTimeout(200*time.Millisecond))
	p := store.Plan{Credits: 100, Window: time.Hour, Concurrency: 4}
	pf := func(string) *store.Plan { return &p }
	srv.stop()
	trimDuring(t, s, time.Now(), "o")
	var l Lease
	var d store.Decision
	if s.Take(time.Now(), &store.Request{Tenant: "o", App: "a", Credits: 5}, pf, &l, &d); !d.Allowed {
		t.Fatalf("fail-open refused: %+v", d)
	}
	s.Release(&l)
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	awaitReconciled(s, 5, func() { s.Peek(time.Now(), "o", 0, pf) })
	if used := s.Peek(time.Now(), "o", 0, pf).Used; used != 5 {
		t.Errorf("the pool counts %d of the 5 credits spent while Redis was away (%+v)", used, s.Stats())
	}
}

// A trim racing with a take that leases a block must not drop the tenant
// the block goes to: blocks are given back by walking the cache, and the
// block's credits stayed spent in the pool.
func TestTrimKeepsBlock(t *testing.T) {
	s := newStore(t, client(t, shared.addr()), WithClientTime(), WithCreditLeasing(64))
	p := store.Plan{Credits: 1000, Window: time.Hour, Concurrency: 4}
	pf := func(string) *store.Plan { return &p }
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	trimDuring(t, s, t0, "b")
	var l Lease
	var d store.Decision
	if s.Take(t0, &store.Request{Tenant: "b", App: "a", Credits: 1}, pf, &l, &d); !d.Allowed {
		t.Fatalf("take: %+v", d)
	}
	s.Release(&l)
	if s.Stats().Blocks != 1 {
		t.Fatalf("no block leased: %+v", s.Stats())
	}
	if err := s.Close(t.Context()); err != nil { // gives back every block
		t.Fatal(err)
	}
	if used := s.Peek(t0, "b", 0, pf).Used; used != 1 {
		t.Errorf("the pool counts %d spent after one take of 1 and the block given back", used)
	}
}

// Past its cap, with every tenant holding a block, the cache is not
// scanned whole for each new tenant: trims are amortised over the new
// tenants. And once the blocks and spare slots are given back, trims
// bring it back under its cap.
func TestTrimAmortised(t *testing.T) {
	s := newStore(t, client(t, shared.addr()), WithClientTime(), WithCreditLeasing(64))
	const max, n = 20, 100
	s.tenants.max = max
	p := store.Plan{Credits: 1000, Window: time.Hour, Concurrency: 4}
	pf := func(string) *store.Plan { return &p }
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var trims atomic.Int64
	trimHook = func() { trims.Add(1) }
	defer func() { trimHook = nil }()
	take := func(name string, credits int64) {
		var l Lease
		var d store.Decision
		if s.Take(t0, &store.Request{Tenant: name, App: "a", Credits: credits}, pf, &l, &d); !d.Allowed {
			t.Fatalf("%s: %+v", name, d)
		}
		s.Release(&l)
	}
	for i := range n {
		take(fmt.Sprint("busy", i), 1) // leases a block
	}
	if got := trims.Load(); got > 10 {
		t.Errorf("%d trims for %d new tenants past a cap of %d, all busy", got, n-max, max)
	}
	s.giveBackBlocks(t0, true)
	s.renewAll(false) // gives back the spares unused since they were kept: each pins its tenant
	for i := range n {
		s.Peek(t0, fmt.Sprint("idle", i), 0, pf) // no block, no spare
	}
	if c := s.tenants.n.Load(); c > 2*max {
		t.Errorf("%d tenants cached, all idle, past a cap of %d", c, max)
	}
}

// A trim must not drop a tenant with a lease out: a charge settled on the
// lease while Redis is away is a debt of the tenant, which reconcile finds
// only in the cache.
func TestTrimKeepsLeasedTenant(t *testing.T) {
	srv, err := startServer(0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.remove()
	s := newStore(t, client(t, srv.addr()), WithBreaker(1, 50*time.Millisecond),
		WithLeaseTTL(300*time.Millisecond), WithTimeout(200*time.Millisecond))
	s.tenants.max = 2
	p := store.Plan{Credits: 100, Window: time.Hour, Concurrency: 4}
	pf := func(string) *store.Plan { return &p }
	var l Lease
	var d store.Decision
	if s.Take(time.Now(), &store.Request{Tenant: "l", App: "a", Credits: 1}, pf, &l, &d); !d.Allowed {
		t.Fatalf("take: %+v", d)
	}
	for i := range 3 { // past the cap, with "l" holding nothing but the lease
		s.Peek(time.Now(), fmt.Sprint("other", i), 0, pf)
	}
	srv.stop()
	if d := s.Settle(time.Now(), &l, 5, false); !d.Allowed || d.Cost != 5 {
		t.Fatalf("settle while away: %+v", d)
	}
	s.Release(&l)
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	awaitReconciled(s, 5, func() { s.Peek(time.Now(), "l", 0, pf) })
	// the restarted server (no persistence) forgot the take's 1
	if used := s.Peek(time.Now(), "l", 0, pf).Used; used != 5 {
		t.Errorf("the pool counts %d of the 5 settled while Redis was away (%+v)", used, s.Stats())
	}
}

// A tenant that once had a degraded share is dropped from the cache once
// its debt is booked and the share's spending has come back (as good as a
// new share): before, a share was kept for good, and every tenant an
// outage touched stayed cached, past any cap.
func TestTrimDropsSpentShares(t *testing.T) {
	srv, err := startServer(0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.remove()
	s := newStore(t, client(t, srv.addr()), WithFailure(Degraded, 2), WithBreaker(1, 50*time.Millisecond),
		WithLeaseTTL(300*time.Millisecond), WithTimeout(200*time.Millisecond), WithClientTime()) // the background's trims too run at t0's
	const max, n = 4, 20
	s.tenants.max = max
	p := store.Plan{Credits: 10, Window: time.Hour, Concurrency: 2}
	pf := func(string) *store.Plan { return &p }
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	srv.stop()
	for i := range n {
		var l Lease
		var d store.Decision
		if s.Take(t0, &store.Request{Tenant: fmt.Sprint("d", i), App: "a", Credits: 1}, pf, &l, &d); !d.Allowed {
			t.Fatalf("d%d: %+v", i, d)
		}
		s.Release(&l)
	}
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	awaitReconciled(s, n, func() { s.Peek(t0, "d0", 0, pf) })
	if r := s.Stats().Reconciled; r != n {
		t.Fatalf("reconciled %d of %d", r, n)
	}
	s.Peek(t0.Add(30*time.Minute), "x", 0, pf)
	if c := s.tenants.n.Load(); c < n {
		t.Errorf("%d tenants cached: shares with spending in their window dropped", c)
	}
	for i := range n / 4 { // trims, as the first new tenant past the cap, a window later
		s.Peek(t0.Add(2*time.Hour), fmt.Sprint("y", i), 0, pf)
	}
	if c := s.tenants.n.Load(); c > 2*max {
		t.Errorf("%d tenants cached past a cap of %d, their shares spent out and debts booked", c, max)
	}
}

// awaitReconciled waits up to 3 s until s has booked n credits spent while
// Redis was away, calling step every 50 ms meanwhile: a step closes the
// breaker, and reconciling follows on a background tick.
func awaitReconciled(s *Store, n int64, step func()) {
	deadline := time.Now().Add(3 * time.Second)
	for s.Stats().Reconciled < n && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		step()
	}
}
