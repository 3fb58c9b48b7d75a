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
	testOutageTakeChargedOnce(t, FailOpen)
}

// Degraded, likewise: the call admitted from the instance's share was
// booked as a new charge.
func TestDegradedTakeChargedOnce(t *testing.T) {
	testOutageTakeChargedOnce(t, Degraded)
}

func testOutageTakeChargedOnce(t *testing.T, mode Mode) {
	px := newProxy(t, shared.addr())
	c := client(t, px.l.Addr().String())
	s := newStore(t, c, WithTimeout(time.Second), WithFailure(mode, 1), WithBreaker(100, time.Second),
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
		t.Fatalf("%v refused: %+v", mode, d)
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
	// The lease outlives a slow renewal: with 60 ms (renewals every 20 ms)
	// and a sleep of 50 ms after the renewal that held the slots again, a
	// renewal delayed past the lease under -race on two busy cores would
	// let it run out, and b be rightly admitted (session 25).
	a := newStore(t, client(t, srv.addr()), WithPrefix(prefix), WithLeaseTTL(900*time.Millisecond), WithBreaker(1000, time.Millisecond))
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
	// a's renewal has found them gone, and the same script held them again
	// (op_renew), before LeasesLost counts them: no sleep stands in for it
	for a.Stats().LeasesLost < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("a never renewed after the restart: %+v", a.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	var lb Lease
	b.Take(time.Now(), req, pf, &lb, &d)
	allowed := d.Allowed
	b.Release(&lb)
	if allowed {
		t.Fatalf("a's 2 calls are in flight under a cap of 2, and a has renewed since the restart, yet b was admitted: %+v", d)
	}
}

// busy keeps s's spare slot of tenant's app x, and its block, in use with
// free calls at now (a sweep gives back an idle one), until the returned
// func is called.
func busy(s *Store, tenant string, now time.Time, pf store.PlanFunc) func() {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var l Lease
		var d store.Decision
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			s.Take(now, &store.Request{Tenant: tenant, App: "x"}, pf, &l, &d)
			s.Release(&l)
		}
	}()
	return func() { close(stop); <-done }
}

// renewed waits (at most 5 s) for s's background to have renewed since
// the call, in place of a sleep that guessed it: under -race on two busy
// cores the renewals (every third of the lease TTL) may come late. Each
// renewal is a round trip, sent one after another with the tick's sweep
// between them: the first counted may have been sent before the call,
// the second was sent after it, and once the third is counted the
// second's reply was read and the tick's sweep done. (busy's calls take
// no round trip while s keeps their spare and block.)
func renewed(t *testing.T, s *Store) {
	t.Helper()
	from := s.Stats().RoundTrips
	for deadline := time.Now().Add(5 * time.Second); s.Stats().RoundTrips < from+3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no renewals in 5 s: %+v", s.Stats())
		}
	}
}

// t0 is a fake clock's start in the client time tests: far from the
// real one.
var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// A restart without persistence forgets the block's credits: the block
// that a kept was given back (a refund at its instant) into the pool made
// anew after the restart, when a's next take through Redis leased a new
// one, and took back there what b had spent since in the same window
// slot: b's 70 and a's 1 and 1 leased showed as 64.
func TestBlockDroppedAfterRestart(t *testing.T) {
	srv, err := startServer(0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.remove()
	prefix := "h55.blockrestart:"
	a := newStore(t, client(t, srv.addr()), WithPrefix(prefix), WithClientTime(), WithCreditLeasing(64))
	b := newStore(t, client(t, srv.addr()), WithPrefix(prefix), WithClientTime())
	p := store.Plan{Credits: 80, Window: time.Hour, Concurrency: 8}
	pf := func(string) *store.Plan { return &p }
	var l Lease
	var d store.Decision
	a.Take(t0, &store.Request{Tenant: "t", App: "x", Credits: 1}, pf, &l, &d)
	if !d.Allowed {
		t.Fatalf("a: %+v", d)
	}
	a.Release(&l)
	if st := a.Stats(); st.Blocks != 1 {
		t.Fatalf("no block leased: %+v", st)
	}
	if err := srv.restart(); err != nil {
		t.Fatal(err)
	}
	b.Take(t0, &store.Request{Tenant: "t", App: "y", Credits: 70}, pf, &l, &d)
	if !d.Allowed {
		t.Fatalf("b, after the restart: %+v", d)
	}
	b.Release(&l)
	// another application: no spare, through Redis, leasing a new block (of 1)
	a.Take(t0, &store.Request{Tenant: "t", App: "z", Credits: 1}, pf, &l, &d)
	if !d.Allowed {
		t.Fatalf("a, after the restart: %+v", d)
	}
	a.Release(&l)
	if used := b.Peek(t0, "t", 0, pf).Used; used != 72 {
		t.Fatalf("70 + 1 + 1 leased spent after the restart, the pool counts %d: a's block from before it was given back into it (%+v)",
			used, a.Stats())
	}
}

// Another instance's SetPlan shortened the window (an hour to 2 minutes):
// the block a took under the hour was spent for up to half an hour,
// while the new window gave its credits back to the pool after 2 minutes,
// where b spent them again. a's renewals now find the plan changed (the
// windows' epoch) and drop the block.
func TestBlockDroppedOnShorterPlan(t *testing.T) {
	t0 := time.Now().Round(0) // the real clock: the sweeps judge blocks by it
	c := client(t, shared.addr())
	prefix := "h55.blockplan" + time.Now().Format("150405.000000") + ":"
	a := newStore(t, c, WithPrefix(prefix), WithClientTime(), WithCreditLeasing(64), WithLeaseTTL(60*time.Millisecond))
	b := newStore(t, c, WithPrefix(prefix), WithClientTime())
	p := store.Plan{Credits: 80, Window: time.Hour, Concurrency: 8}
	short := store.Plan{Credits: 80, Window: 2 * time.Minute, Concurrency: 8}
	pf := func(string) *store.Plan { return &p } // a's: the plan it was given; Redis holds SetPlan's
	var l Lease
	var d store.Decision
	a.Take(t0, &store.Request{Tenant: "t", App: "x", Credits: 1}, pf, &l, &d)
	if !d.Allowed || a.Stats().Blocks != 1 {
		t.Fatalf("a: %+v, %+v", d, a.Stats())
	}
	a.Release(&l)
	stop := busy(a, "t", t0, pf)
	if err := b.SetPlan(t0, "t", &short); err != nil {
		stop()
		t.Fatal(err)
	}
	renewed(t, a) // a renews its spare (every 20 ms), and reads the windows' epoch
	stop()
	t1 := t0.Add(3 * time.Minute) // a's block is back in the pool of the 2-minute window
	b.Take(t1, &store.Request{Tenant: "t", App: "y", Credits: 80}, pf, &l, &d)
	if !d.Allowed {
		t.Fatalf("b: the pool is not whole after the new window: %+v", d)
	}
	b.Release(&l)
	a.Take(t1, &store.Request{Tenant: "t", App: "x", Credits: 1}, pf, &l, &d)
	allowed := d.Allowed
	a.Release(&l)
	if allowed {
		t.Fatalf("b spent the whole pool of 80 in its window, yet a admitted from a block of the old plan: %+v", d)
	}
}

// Client time, clocks that differ: b's clock is 62 s ahead of a's, and
// the windows (one minute) count at the latest now any instance gave. a's
// block, counted at t0, was back in the pool as soon as b stepped, yet a
// spent it for half a minute on its own clock, and b's 80 were admitted
// beside it. The block's life is judged on the windows' clock: a's
// renewals (and steps) read the windows' frontier, and a block whose
// instant is half a window behind it is dropped.
func TestBlockDroppedPastFrontier(t *testing.T) {
	t0 := time.Now().Round(0) // the real clock: the sweeps judge blocks by it
	c := client(t, shared.addr())
	prefix := "h55.blockfrontier" + time.Now().Format("150405.000000") + ":"
	a := newStore(t, c, WithPrefix(prefix), WithClientTime(), WithCreditLeasing(64), WithLeaseTTL(60*time.Millisecond))
	b := newStore(t, c, WithPrefix(prefix), WithClientTime())
	p := store.Plan{Credits: 80, Window: time.Minute, Concurrency: 8}
	pf := func(string) *store.Plan { return &p }
	var l Lease
	var d store.Decision
	a.Take(t0, &store.Request{Tenant: "t", App: "x", Credits: 1}, pf, &l, &d)
	if !d.Allowed || a.Stats().Blocks != 1 {
		t.Fatalf("a: %+v, %+v", d, a.Stats())
	}
	a.Release(&l)
	stop := busy(a, "t", t0, pf)
	b.Take(t0.Add(62*time.Second), &store.Request{Tenant: "t", App: "y", Credits: 80}, pf, &l, &d)
	if !d.Allowed {
		stop()
		t.Fatalf("b: the pool is not whole a window after a's block: %+v", d)
	}
	b.Release(&l)
	renewed(t, a) // a renews its spare (every 20 ms), and reads the windows' frontier
	stop()
	a.Take(t0.Add(time.Second), &store.Request{Tenant: "t", App: "x", Credits: 1}, pf, &l, &d)
	allowed := d.Allowed
	a.Release(&l)
	if allowed {
		t.Fatalf("b spent the whole pool of 80 in its window, yet a admitted from a block the windows no longer count: %+v", d)
	}
}

// In client time mode a block's deadline is on the callers' clock, but
// the background sweep judged it at the real time: with a fake clock far
// behind the real one, every block was given back at the first sweep,
// unspent. The sweep now judges it at the latest now the callers gave.
func TestBlockKeptOnCallersClock(t *testing.T) {
	c := client(t, shared.addr())
	prefix := "h55.blockcallers" + time.Now().Format("150405.000000") + ":"
	a := newStore(t, c, WithPrefix(prefix), WithClientTime(), WithCreditLeasing(64), WithLeaseTTL(60*time.Millisecond))
	p := store.Plan{Credits: 800, Window: time.Hour, Concurrency: 8}
	pf := func(string) *store.Plan { return &p }
	var l Lease
	var d store.Decision
	a.Take(t0, &store.Request{Tenant: "t", App: "x", Credits: 1}, pf, &l, &d)
	if !d.Allowed || a.Stats().Blocks != 1 {
		t.Fatalf("a: %+v, %+v", d, a.Stats())
	}
	a.Release(&l)
	stop := busy(a, "t", t0, pf)
	renewed(t, a) // and a's sweeps (every 20 ms) judged the block
	for deadline := time.Now().Add(5 * time.Second); a.Stats().Local == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond) // busy's calls spend from it
	}
	stop()
	if st := a.Stats(); st.GivenBack != 0 || st.Local == 0 {
		t.Fatalf("a's block, in use within its deadline on the callers' clock, was given back: %+v", st)
	}
}

// A refund of a call counted before a restart without persistence went
// into the pool made anew after it, in the same window slot: it took back
// credits spent since (b's 80 of the pool of 80 showed as 70, and 10
// more were admitted). The windows now know the instant they were made
// at, and refund nothing counted before it.
func TestRefundAfterRestartTakesNothingBack(t *testing.T) {
	srv, err := startServer(0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.remove()
	prefix := "h55.refundrestart:"
	a := newStore(t, client(t, srv.addr()), WithPrefix(prefix), WithClientTime())
	b := newStore(t, client(t, srv.addr()), WithPrefix(prefix), WithClientTime())
	p := store.Plan{Credits: 80, Window: time.Hour, Concurrency: 8}
	pf := func(string) *store.Plan { return &p }
	var la, lb Lease
	var d store.Decision
	a.Take(t0, &store.Request{Tenant: "t", App: "x", Credits: 10}, pf, &la, &d)
	if !d.Allowed {
		t.Fatalf("a: %+v", d)
	}
	defer a.Release(&la)
	if err := srv.restart(); err != nil {
		t.Fatal(err)
	}
	b.Take(t0.Add(time.Second), &store.Request{Tenant: "t", App: "y", Credits: 80}, pf, &lb, &d)
	if !d.Allowed {
		t.Fatalf("b, after the restart: %+v", d)
	}
	b.Release(&lb)
	a.Settle(t0.Add(time.Second), &la, -10, false)
	if used := b.Peek(t0.Add(time.Second), "t", 0, pf).Used; used != 80 {
		t.Fatalf("b spent the pool of 80 after the restart, the pool counts %d: a's refund of a call from before it took credits back", used)
	}
}
