package redis

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// Degraded gives each instance ceil(cap/N) slots per application (doc of
// Degraded). Calls this instance admitted through Redis before it went
// away still run, yet its share counts none of them: with a composite call
// of 4 units (cap 4, N 2, share 2) in flight, it admits 2 more units, 6 in
// flight on one instance alone, past the whole fleet's cap.
func TestDegradedShareCountsCallsInFlight_r103(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := startServer(port)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.remove()
	s := newStore(t, client(t, srv.addr()), WithFailure(Degraded, 2), WithBreaker(1, time.Hour), WithTimeout(200*time.Millisecond))
	p := store.Plan{Name: "free", Credits: 1000, Window: time.Hour, Concurrency: 4}
	pf := func(string) *store.Plan { return &p }
	take := func(units int64) (*Lease, store.Decision) {
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "t", App: "a", Credits: 1, Units: units}, pf, &l, &d)
		return &l, d
	}
	comp, d := take(4)
	if !d.Allowed {
		t.Fatalf("composite through Redis: %+v", d)
	}
	defer s.Release(comp)
	srv.stop()
	inflight := int64(4)
	for range 4 {
		l, d := take(1)
		if d.Allowed {
			inflight++
			defer s.Release(l)
		}
	}
	if inflight > 4 {
		t.Fatalf("cap 4, share 2 of 2 instances: %d units in flight on this instance alone (a composite of 4 admitted through Redis, then %d in Degraded)",
			inflight, inflight-4)
	}
}

// Across two outages, the degraded share counts what this instance holds
// in Redis as it is at each take: a call admitted through Redis before the
// outage holds its units of the application's share, and its class's slot
// of the class's share, until it is released, also during the outage (then
// given back once: a leak would refuse, a double release admit, past the
// share); a call admitted through Redis after the outage counts in the
// next one, once. A release during the outage reaches no Redis: the
// slots' lease runs out (it is no longer renewed), and once Redis is back
// the whole cap is taken again.
func TestDegradedShareAcrossOutages(t *testing.T) {
	srv, err := startServer(0, "--appendonly", "yes", "--appendfsync", "always")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.remove()
	ttl := 600 * time.Millisecond
	// a timeout for -race on two busy cores: the first take after the
	// restart (the script loaded again) must not time out into the share,
	// as one did at 200 ms in TestDegradedLeasesEnrolled_d109 (1bbbce6).
	// During the outages the takes fail at once (connection refused).
	s := newStore(t, client(t, srv.addr()), WithFailure(Degraded, 2), WithBreaker(1, 50*time.Millisecond),
		WithTimeout(time.Second), WithLeaseTTL(ttl))
	// the shares of two instances: 2 units per application, 1 bulk slot
	p := store.Plan{Name: "free", Credits: 1000, Window: time.Hour, Concurrency: 4, SubConcurrency: map[string]int64{"bulk": 2}}
	pf := func(string) *store.Plan { return &p }
	take := func(app, class string, units int64, kind leaseKind) *Lease {
		t.Helper()
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "t", App: app, Class: class, Credits: 1, Units: units}, pf, &l, &d)
		if !d.Allowed || l.kind != kind {
			t.Fatalf("%d units of %s/%s: %+v, lease kind %d, want %d", units, app, class, d, l.kind, kind)
		}
		return &l
	}
	// admits is how many calls of one unit of app and class the share
	// admits at once now; it releases them.
	admits := func(app, class string) int {
		t.Helper()
		var ls []*Lease
		defer func() {
			for _, l := range ls {
				s.Release(l)
			}
		}()
		for range 4 {
			var l Lease
			var d store.Decision
			s.Take(time.Now(), &store.Request{Tenant: "t", App: app, Class: class, Credits: 1}, pf, &l, &d)
			switch {
			case d.Allowed && l.kind == degradedLease:
				ls = append(ls, &l)
			case d.Reason == store.ReasonConcurrency || d.Reason == store.ReasonSubConcurrency:
				return len(ls)
			default:
				t.Fatalf("%s/%s, Redis away: %+v, lease kind %d", app, class, d, l.kind)
			}
		}
		return len(ls)
	}
	check := func(what, app, class string, want int) {
		t.Helper()
		if n := admits(app, class); n != want {
			t.Fatalf("%s: the share admits %d calls of %s/%s, want %d", what, n, app, class, want)
		}
	}

	comp := take("a", "", 4, remoteLease)
	bulk := take("b", "bulk", 1, remoteLease)
	srv.stop()
	check("a composite of 4 in flight", "a", "", 0)
	check("a bulk call in flight", "c", "bulk", 0)
	check("another application", "c", "", 2)
	s.Release(comp)
	check("the composite released during the outage", "a", "", 2)
	s.Release(bulk)
	check("the bulk call released during the outage", "c", "bulk", 1)
	check("again", "a", "", 2)

	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(ttl + 200*time.Millisecond) // the composite's lease runs out; the breaker's cooldown ends
	comp = take("a", "", 4, remoteLease)   // the whole cap: nothing of the outage is held
	s.Release(comp)
	one := take("a", "", 1, remoteLease)
	srv.stop()
	check("a call of one unit in flight, second outage", "a", "", 1)
	s.Release(one)
	check("released", "a", "", 2)
}

// With credit leasing, a spare slot this instance keeps in Redis admits a
// call during the outage without the share (takeLocal, on the leased
// block): the share counts it as held, or a call the block does not cover
// (taken from the share) and one it does (on the spare) ran 3 units on a
// share of 2.
func TestDegradedShareCountsSpares(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := startServer(port)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.remove()
	s := newStore(t, client(t, srv.addr()), WithFailure(Degraded, 2), WithBreaker(1, time.Hour),
		WithTimeout(200*time.Millisecond), WithCreditLeasing(64))
	p := store.Plan{Name: "free", Credits: 1000, Window: time.Hour, Concurrency: 4}
	pf := func(string) *store.Plan { return &p }
	inflight := 0
	take := func(credits int64) (*Lease, store.Decision) {
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "t", App: "a", Credits: credits}, pf, &l, &d)
		if d.Allowed {
			inflight++
			t.Cleanup(func() { s.Release(&l) })
		}
		return &l, d
	}
	take(1) // through Redis: leases a block
	l, d := take(1)
	if !d.Allowed || l.kind != remoteLease {
		t.Fatalf("second call through Redis: %+v", d)
	}
	s.Release(l) // kept as a spare
	inflight--
	srv.stop()
	var lu Lease // another tenant's take opens the breaker: a's next takes send nothing (a failed take drops the spare it popped)
	s.Take(time.Now(), &store.Request{Tenant: "u", App: "a", Credits: 1}, pf, &lu, &d)
	defer s.Release(&lu)
	if s.Circuit() != Open {
		t.Fatalf("circuit %v", s.Circuit())
	}
	take(100) // more than the block: from the share
	take(1)   // on the block and the spare
	take(1)
	if inflight > 2 {
		t.Fatalf("cap 4, share 2 of 2 instances: %d calls in flight on this instance (a call through Redis, a spare kept)", inflight)
	}
	if st := s.Stats(); st.Local == 0 {
		t.Fatalf("no call admitted on the spare: %+v", st)
	}
}
