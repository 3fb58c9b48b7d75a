package redis

import (
	"context"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
	goredis "github.com/redis/go-redis/v9"
)

// Degraded's share of an application's cap counts "the units the
// instance holds in Redis as they are at each take" (doc.go, Failures).
// A take through Redis that is under way is not counted: the half-open
// breaker's probe is a Take sent to Redis, and while it waits for its
// reply every other take sees the breaker open and is decided by the
// share. One instance (N 1), cap 2: the share admits 2 beside the probe,
// which Redis then admits too (it counts nothing of the share): 3 calls
// in flight on a cap of 2, on one instance alone.
func TestDegradedShareCountsProbeInFlight_r108(t *testing.T) {
	srv, err := startServer(0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.remove()
	c := goredis.NewClient(&goredis.Options{Addr: srv.addr(), ReadTimeout: 3 * time.Second,
		WriteTimeout: 3 * time.Second, DialTimeout: 300 * time.Millisecond, ContextTimeoutEnabled: true,
		MaxRetries: -1, PoolSize: 16})
	defer c.Close()
	cooldown := 100 * time.Millisecond
	s := newStore(t, c, WithFailure(Degraded, 1), WithBreaker(1, cooldown), WithTimeout(2*time.Second))
	p := store.Plan{Name: "free", Credits: 1000, Window: time.Hour, Concurrency: 2}
	pf := func(string) *store.Plan { return &p }
	take := func() (*Lease, store.Decision) {
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "t", App: "a", Credits: 1}, pf, &l, &d)
		return &l, d
	}
	// the tenant held in Redis, nothing in flight
	l, d := take()
	if !d.Allowed || l.kind != remoteLease {
		t.Fatalf("first take: %+v", d)
	}
	s.Release(l)

	// an outage opens the breaker
	srv.stop()
	l, d = take()
	if s.Circuit() != Open {
		t.Fatalf("circuit %v after a failed take", s.Circuit())
	}
	if d.Allowed {
		s.Release(l)
	}
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(cooldown + 50*time.Millisecond) // a probe is due

	// Redis is slow to answer the probe (every client paused for a while)
	raw := goredis.NewClient(&goredis.Options{Addr: srv.addr(), MaxRetries: -1})
	defer raw.Close()
	if err := raw.Do(context.Background(), "CLIENT", "PAUSE", "500", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	type res struct {
		l *Lease
		d store.Decision
	}
	probe := make(chan res, 1)
	go func() {
		l, d := take()
		probe <- res{l, d}
	}()
	for deadline := time.Now().Add(time.Second); s.Circuit() != HalfOpen; {
		if time.Now().After(deadline) {
			t.Fatalf("no probe under way: circuit %v", s.Circuit())
		}
		time.Sleep(time.Millisecond)
	}

	inflight := 0
	var ls []*Lease
	defer func() {
		for _, l := range ls {
			s.Release(l)
		}
	}()
	for range 2 {
		l, d := take()
		if d.Allowed {
			inflight++
			ls = append(ls, l)
		}
	}
	r := <-probe
	if r.d.Allowed {
		inflight++
		ls = append(ls, r.l)
	}
	if r.l.kind != remoteLease && r.d.Allowed {
		t.Logf("probe admitted as kind %d", r.l.kind)
	}
	if inflight > 2 {
		t.Fatalf("cap 2, one instance: %d calls in flight (the share admitted %d while the probe's take was under way, then Redis admitted the probe: %+v)",
			inflight, inflight-1, r.d)
	}
}

// The same gap without a race: calls the share admitted during the
// outage run on after it, but Redis never counts them (they are in the
// share's maps only), and the share is asked no more once the breaker
// closes. One instance (N 1), cap 2: 2 calls admitted by the share, Redis
// back, and Redis admits 2 more beside them: 4 calls in flight on a cap of
// 2. (The reverse, calls admitted by Redis that run into an outage, is
// what TestDegradedShareAcrossOutages checks.)
func TestDegradedCallsCountAfterRecovery_r108(t *testing.T) {
	srv, err := startServer(0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.remove()
	cooldown := 100 * time.Millisecond
	s := newStore(t, client(t, srv.addr()), WithFailure(Degraded, 1), WithBreaker(1, cooldown), WithTimeout(200*time.Millisecond))
	p := store.Plan{Name: "free", Credits: 1000, Window: time.Hour, Concurrency: 2}
	pf := func(string) *store.Plan { return &p }
	var ls []*Lease
	defer func() {
		for _, l := range ls {
			s.Release(l)
		}
	}()
	take := func() (*Lease, store.Decision) {
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "t", App: "a", Credits: 1}, pf, &l, &d)
		if d.Allowed {
			ls = append(ls, &l)
		}
		return &l, d
	}
	if _, d := take(); !d.Allowed {
		t.Fatalf("first take: %+v", d)
	}
	s.Release(ls[0])
	ls = nil
	srv.stop()
	degraded := 0
	for range 3 {
		if l, d := take(); d.Allowed && l.kind == degradedLease {
			degraded++
		}
	}
	if degraded != 2 {
		t.Fatalf("the share admitted %d calls, want 2", degraded)
	}
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(cooldown + 50*time.Millisecond)
	for range 2 {
		take()
	}
	if len(ls) > 2 {
		t.Fatalf("cap 2, one instance: %d calls in flight (%d admitted by the share during the outage, still running, then %d by Redis)",
			len(ls), degraded, len(ls)-degraded)
	}
}
