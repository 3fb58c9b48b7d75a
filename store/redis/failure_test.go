package redis

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// Redis is killed for over a second in each failure mode while two
// instances (two stores) hammer one tenant; it comes back with its data
// (append-only file). What each mode admitted while Redis was down, and
// what it booked to the pool after, is checked against the mode's promise.
func TestFailureModes(t *testing.T) {
	for _, mode := range []Mode{FailClosed, FailOpen, Degraded} {
		t.Run(mode.String(), func(t *testing.T) { testFailureMode(t, mode, 0) })
	}
	t.Run("degraded+leasing", func(t *testing.T) { testFailureMode(t, Degraded, 64) })
}

func testFailureMode(t *testing.T, mode Mode, block int64) {
	srv, err := startServer(0, "--appendonly", "yes", "--appendfsync", "always")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.remove()
	const N = 2
	p := store.Plan{Credits: 200, Window: time.Hour, Concurrency: 8}
	pf := func(string) *store.Plan { return &p }
	var stores []*Store
	prefix := fmt.Sprintf("modes.%s.%d:", mode, block)
	for range N {
		stores = append(stores, newStore(t, client(t, srv.addr()), WithPrefix(prefix), WithFailure(mode, N),
			WithBreaker(2, 100*time.Millisecond), WithLeaseTTL(600*time.Millisecond), WithTimeout(300*time.Millisecond),
			WithCreditLeasing(block)))
	}
	for i := range 50 { // before the outage: 50 spent, through both
		var l Lease
		var d store.Decision
		stores[i%N].Take(time.Now(), &store.Request{Tenant: "m", App: "a", Credits: 1}, pf, &l, &d)
		if !d.Allowed {
			t.Fatalf("before the outage: %+v", d)
		}
		stores[i%N].Release(&l)
	}
	srv.stop()
	down := spendAll(stores, &p, 1500*time.Millisecond)
	if err := srv.restart(); err != nil {
		t.Fatal(err)
	}
	reconciled, unreconciled := waitReconciled(stores, pf)
	used := stores[0].Peek(time.Now(), "m", 0, pf).Used
	t.Logf("%s: admitted %d credits while Redis was down; reconciled %d (%d beyond the pool); pool used %d of %d",
		mode, down, reconciled, unreconciled, used, p.Credits)
	check := func(ok bool, msg string, args ...any) {
		if !ok {
			t.Errorf(msg+fmt.Sprintf(" (down %d, reconciled %d, used %d)", down, reconciled, used), args...)
		}
	}
	switch {
	case mode == FailClosed:
		check(down == 0 && used == 50, "fail-closed admitted while down, or the pool moved")
	case mode == FailOpen:
		check(down > 0 && reconciled+unreconciled == down, "fail-open did not book all it admitted")
		check(used == min(p.Credits, 50+down), "the pool does not count what was booked")
	case block > 0:
		// the blocks leased before (counted in the pool already), then 1/N
		// of what each instance last saw left: never N pools
		check(down > 0 && down <= p.Credits, "degraded with blocks admitted %d, want at most one pool", down)
		check(used <= p.Credits && reconciled+unreconciled <= down, "degraded with blocks booked more than it spent")
	default:
		// each instance: 1/N of what the pool had left (150): 75
		check(down == 150, "degraded admitted %d, want 1/N of the 150 left for each of N", down)
		check(reconciled == down && used == p.Credits, "degraded did not book its spending")
	}
}

// spendAll has every store spend from tenant "m" for d; it returns the
// credits admitted.
func spendAll(stores []*Store, p *store.Plan, d time.Duration) int64 {
	var mu sync.Mutex
	var total int64
	var wg sync.WaitGroup
	stop := after(d, nil)
	for _, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := spend(s, "m", p, 2, stop)
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	return total
}

// waitReconciled waits (5 s at most) until the stores have booked what
// they spent while Redis was away, and returns what they booked and what
// the pool could not take.
func waitReconciled(stores []*Store, pf store.PlanFunc) (reconciled, unreconciled int64) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		var owed int64
		reconciled, unreconciled = 0, 0
		for _, s := range stores {
			x := s.Stats()
			owed += x.OutageCredits - x.Reconciled - x.Unreconciled
			reconciled += x.Reconciled
			unreconciled += x.Unreconciled
		}
		if owed == 0 && stores[0].Circuit() == Closed || time.Now().After(deadline) {
			return reconciled, unreconciled
		}
		time.Sleep(50 * time.Millisecond)
		for _, s := range stores { // a step closes the breaker; reconciling follows on a tick
			s.Peek(time.Now(), "m", 0, pf)
		}
	}
}

// The breaker opens after its failures, lets one probe through after the
// cooldown, opens again when the probe fails and closes when one succeeds.
func TestBreaker(t *testing.T) {
	var c counters
	b := breaker{failures: 2, cooldown: time.Second, opens: &c.opens}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for i, r := range []struct {
		at          time.Duration
		probe, ok   bool // what allow says
		outcome     int  // 0 none, 1 success, -1 failure
		state       Circuit
		opens, back int64
	}{
		{0, false, true, -1, Closed, 0, 0},
		{0, false, true, -1, Open, 1, 0},
		{500 * time.Millisecond, false, false, 0, Open, 1, 0},
		{time.Second, true, true, 0, HalfOpen, 1, 0}, // the probe is out
		{time.Second, false, false, -1, Open, 1, 0},  // only one probe; it fails
		{1500 * time.Millisecond, false, false, 0, Open, 1, 0},
		{2 * time.Second, true, true, 1, Closed, 1, 1},
		{2 * time.Second, false, true, 1, Closed, 1, 1},
	} {
		probe, ok := b.allow(at(r.at))
		if probe != r.probe || ok != r.ok {
			t.Fatalf("step %d: allow = %v, %v; want %v, %v", i, probe, ok, r.probe, r.ok)
		}
		switch {
		case r.outcome != 0 && ok:
			b.done(r.outcome > 0, probe, at(r.at))
		case r.outcome < 0: // the probe of step 3 fails
			b.done(false, true, at(r.at))
		}
		if st, back := b.circuit(); st != r.state || c.opens.Load() != r.opens || back != r.back {
			t.Fatalf("step %d: %v (%d opens, %d closes), want %v (%d, %d)", i, st, c.opens.Load(), back, r.state, r.opens, r.back)
		}
	}
}

// Every failure the breaker counts is an error in Stats: a take that fails
// queues the release of its member (it may have run), and the flush of
// that release, to the same unreachable Redis, fails too. The circuit may
// open on such a failure; Errors must still count it, or a gauge of errors
// shows fewer failures than the breaker's threshold when it opened.
func TestErrorsCountEveryBreakerFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there: every call fails at once
	const threshold = 3
	s := newStore(t, client(t, addr), WithFailure(FailOpen, 1), WithBreaker(threshold, time.Hour),
		WithTimeout(50*time.Millisecond))
	p := store.Plan{Credits: 100, Window: time.Hour, Concurrency: 8}
	pf := func(string) *store.Plan { return &p }
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().BreakerOpens == 0 && time.Now().Before(deadline) {
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "e", App: "a", Credits: 1}, pf, &l, &d)
		s.Release(&l)
		time.Sleep(20 * time.Millisecond) // the release flusher's turn
	}
	st := s.Stats()
	if st.BreakerOpens != 1 || st.Errors < threshold {
		t.Fatalf("breaker opens %d, errors %d: want 1 and at least %d (the threshold)", st.BreakerOpens, st.Errors, threshold)
	}
}
