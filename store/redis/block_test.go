package redis

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// Credit leasing: blocks double while used up, never exceed 1/8 of what
// the pool has left, and the pool is spent exactly, never beyond.
func TestCreditLeasingBlocks(t *testing.T) {
	s := newStore(t, client(t, shared.addr()), WithCreditLeasing(64), WithLeaseTTL(300*time.Millisecond))
	p := store.Plan{Credits: 100, Window: time.Hour, Concurrency: 4}
	pf := func(string) *store.Plan { return &p }
	take := func(tenant string) store.Decision {
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: tenant, App: "a", Credits: 1}, pf, &l, &d)
		s.Release(&l)
		return d
	}
	if d := take("x"); !d.Allowed || d.Used != 1 || d.Remaining != 99 {
		t.Fatalf("first take: %+v", d)
	}
	if d := s.Peek(time.Now(), "x", 0, pf); d.Used != 9 {
		t.Fatalf("a first block of 8: the pool counts %d", d.Used)
	}
	var used []int64
	for range 99 {
		d := take("x")
		if !d.Allowed {
			t.Fatalf("refused with credits left: %+v", d)
		}
		used = append(used, d.Used)
	}
	for i, u := range used { // each figure once, in order: the block's range is this instance's
		if u != int64(i+2) {
			t.Fatalf("take %d reports %d used", i+2, u)
		}
	}
	if d := take("x"); d.Reason != store.ReasonCredits {
		t.Fatalf("beyond the pool: %+v", d)
	}
	st := s.Stats()
	if st.Local < 70 || st.Blocks < 3 {
		t.Fatalf("blocks did not serve the takes: %+v", st)
	}
	// an idle block goes back into its slot at the second sweep
	take("y")
	deadline := time.Now().Add(3 * time.Second)
	for s.Peek(time.Now(), "y", 0, pf).Used != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the idle block was not given back: %+v", s.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%+v", s.Stats())
}

// A busy instance keeps at most one spare slot per application and class:
// spares count against the shared cap, and kept without a bound they left
// a second instance on the same application nothing but refusals.
func TestSparesLeaveRoomForOthers(t *testing.T) {
	prefix := "spares" + time.Now().Format("150405.000000") + ":"
	a := newStore(t, client(t, shared.addr()), WithPrefix(prefix), WithCreditLeasing(64), WithLeaseTTL(3*time.Second))
	b := newStore(t, client(t, shared.addr()), WithPrefix(prefix), WithCreditLeasing(64), WithLeaseTTL(3*time.Second))
	p := store.Plan{Credits: 1 << 30, Window: time.Hour, Concurrency: 4}
	pf := func(string) *store.Plan { return &p }
	call := func(s *Store) bool {
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "shared", App: "a", Credits: 1}, pf, &l, &d)
		if d.Allowed {
			time.Sleep(time.Millisecond) // the call
			s.Release(&l)
		}
		return d.Allowed
	}
	for range 4 { // a's four workers, each a call then a pause: a busy instance, never all slots in use
		for range 20 {
			call(a)
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				call(a)
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	admitted := 0
	for range 50 {
		if call(b) {
			admitted++
		}
		time.Sleep(2 * time.Millisecond)
	}
	close(done)
	wg.Wait()
	if admitted < 10 {
		t.Fatalf("the second instance was admitted %d times in 50 while the first kept spares", admitted)
	}
}

// A refund of a lease counted at the block's instant goes into the block,
// never more than this instance counted in Redis there: before, a refund
// beyond what the lease took grew the block past it, and the instance
// spent those credits locally while Redis still offered them to all.
func TestBlockRefundBounded(t *testing.T) {
	s := newStore(t, client(t, shared.addr()), WithCreditLeasing(64))
	p := store.Plan{Credits: 100, Window: time.Hour, Concurrency: 4}
	pf := func(string) *store.Plan { return &p }
	var l Lease
	var d store.Decision
	s.Take(time.Now(), &store.Request{Tenant: "r", App: "a", Credits: 1}, pf, &l, &d)
	if !d.Allowed {
		t.Fatalf("first take: %+v", d)
	}
	if sd := s.Settle(time.Now(), &l, -50, false); sd.Cost < -9 {
		t.Fatalf("refunded %d, the slot holds 9: %+v", -sd.Cost, sd)
	}
	s.Release(&l)
	admitted := 0
	for range 200 {
		s.Take(time.Now(), &store.Request{Tenant: "r", App: "a", Credits: 1}, pf, &l, &d)
		if !d.Allowed {
			break
		}
		admitted++
		s.Release(&l)
	}
	if admitted > 100 {
		t.Fatalf("admitted %d credits after the refund from a pool of 100", admitted)
	}
}

// A block is counted in every window of the plan when it is leased, so it
// may be spent only while the shortest window still holds it: spent later,
// its credits have come back to that window and are counted twice. Here a
// burst window of 10 credits a second beside an hourly pool: a block leased
// at t0 could be spent for half the pool's window (30 minutes), so 1.2 s
// later the instance spent it beside the 10 the burst window offered again,
// 11 credits within a few milliseconds under a cap of 10 a second.
func TestBlockSpentWithinShortestWindow(t *testing.T) {
	prefix := "burst" + time.Now().Format("150405.000000") + ":"
	a := newStore(t, client(t, shared.addr()), WithPrefix(prefix), WithCreditLeasing(64))
	p := store.Plan{Credits: 1000, Window: time.Hour, Concurrency: 4,
		Extra: []store.WindowLimit{{Credits: 10, Window: time.Second}}}
	pf := func(string) *store.Plan { return &p }
	take := func(s *Store, at time.Time) bool {
		var l Lease
		var d store.Decision
		s.Take(at, &store.Request{Tenant: "burst", App: "a", Credits: 1}, pf, &l, &d)
		s.Release(&l)
		return d.Allowed
	}
	if !take(a, time.Now()) {
		t.Fatal("the first take was refused")
	}
	if st := a.Stats(); st.Blocks != 1 {
		t.Fatalf("no block was leased: %+v", st)
	}
	time.Sleep(1200 * time.Millisecond) // the burst window's credits of t0 are back
	start := time.Now()
	admitted := 0
	for range 30 {
		if take(a, time.Now()) {
			admitted++
		}
	}
	// a gives its blocks back; another instance takes what is left.
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := newStore(t, client(t, shared.addr()), WithPrefix(prefix))
	for range 30 {
		if take(b, time.Now()) {
			admitted++
		}
	}
	most := 10
	if took := time.Since(start); took >= time.Second { // a machine this slow spans two windows
		most = 20
	}
	if admitted > most || admitted < 10 {
		t.Fatalf("%d credits admitted, where the burst window (10 a second) allowed 10 to %d", admitted, most)
	}
}
