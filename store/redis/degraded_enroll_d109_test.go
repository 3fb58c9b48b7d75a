package redis

import (
	"slices"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/creditgate/creditgate/store"
)

// The calls Degraded's share admitted during an outage are held in Redis
// once it is back (enrolled by the tenant's first take, or a renewal), as
// members of their application's key (one per unit) and class's key, and
// renewed and released as any lease: a release before the enrollment
// leaves nothing in Redis, one after removes exactly its members, and in a
// second outage the share counts an enrolled call once. A call released
// during that outage reaches no Redis: its lease runs out there.
func TestDegradedLeasesEnrolled_d109(t *testing.T) {
	srv, err := startServer(0, "--appendonly", "yes", "--appendfsync", "always")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.remove()
	c := client(t, srv.addr())
	ttl, cooldown := 600*time.Millisecond, 50*time.Millisecond
	s := newStore(t, c, WithFailure(Degraded, 1), WithBreaker(1, cooldown), WithTimeout(time.Second), WithLeaseTTL(ttl)) // a timeout for -race on two busy cores: a take after the restart must not time out into the share
	p := store.Plan{Name: "free", Credits: 1000, Window: time.Hour, Concurrency: 4, SubConcurrency: map[string]int64{"bulk": 2}}
	pf := func(string) *store.Plan { return &p }
	try := func(class string, units int64) (*Lease, store.Decision) {
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "t", App: "a", Class: class, Credits: 1, Units: units}, pf, &l, &d)
		return &l, d
	}
	take := func(class string, units int64, kind leaseKind) *Lease {
		t.Helper()
		l, d := try(class, units)
		if !d.Allowed || l.kind != kind {
			t.Fatalf("%d units of a/%q: %+v, lease kind %d, want %d", units, class, d, l.kind, kind)
		}
		return l
	}
	// holds checks the members Redis holds in key, their leases not run
	// out: those of ls, no other
	holds := func(what, key string, class bool, ls ...*Lease) {
		t.Helper()
		var want []string
		for _, l := range ls {
			if class {
				want = append(want, l.member)
				continue
			}
			for _, m := range unitMembers(l.member) {
				want = append(want, m.(string))
			}
		}
		now := c.Time(t.Context()).Val().UnixMicro()
		got := c.ZRangeByScore(t.Context(), key, &goredis.ZRangeBy{Min: "(" + strconv.FormatInt(now, 10), Max: "+inf"}).Val()
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("%s: %s holds %q, want %q", what, key, got, want)
		}
	}
	// sent waits for the releases of the leases of members (read before
	// Release clears them) to reach Redis: their members gone from key at
	// any score (one whose lease ran out stays until a take finds the cap
	// full and prunes it, so a lapse is not taken for a release). The
	// flusher sends them within flushDelay once its goroutine runs: under
	// -race on two busy cores a sleep of 10 ms was not always enough
	// (session 25).
	sent := func(key string, members ...string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			var in []string
			for _, lm := range members {
				for _, m := range unitMembers(lm) {
					if c.ZScore(t.Context(), key, m.(string)).Err() != goredis.Nil {
						in = append(in, m.(string))
					}
				}
			}
			if len(in) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still holds %q 5 s after their release", key, in)
			}
		}
	}
	wait := func() {
		if err := srv.start(); err != nil {
			t.Fatal(err)
		}
		// Redis answering (a restart with appendonly loads first)
		for deadline := time.Now().Add(5 * time.Second); c.Ping(t.Context()).Err() != nil; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("redis-server not answering 5 s after its restart")
			}
		}
		// then the circuit closed by a renewal's probe (the calls held are
		// renewed every ttl/3) or, past the cooldown, the next take is its
		// probe. A take while a renewal's probe was under way found the
		// breaker busy and went to the share (lease kind degraded, want
		// remote: under -race on two busy cores, session 25); a take waits
		// for the probe's outcome, at most 2 s
		for deadline := time.Now().Add(2 * time.Second); s.Circuit() != Closed && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
	}

	first := take("", 1, remoteLease) // the tenant held in Redis
	akey := first.akey
	released := []string{first.member}
	s.Release(first)
	sent(akey, released...)
	holds("before the outage", akey, false)
	srv.stop()
	a := take("bulk", 1, degradedLease)
	b := take("", 2, degradedLease)
	gone := take("bulk", 1, degradedLease)
	ckey := a.ckey
	if _, d := try("", 1); d.Allowed || d.Reason != store.ReasonConcurrency {
		t.Fatalf("the share of 4 full: %+v", d)
	}
	s.Release(gone) // before the enrollment

	wait()
	r := take("", 1, remoteLease) // enrolls a and b first: 4 of 4
	if _, d := try("", 1); d.Allowed || d.Reason != store.ReasonConcurrency {
		t.Fatalf("cap 4 held by 2 calls of the outage and 1 through Redis (4 units): %+v", d)
	}
	holds("enrolled", akey, false, a, b, r)
	holds("enrolled", ckey, true, a)
	time.Sleep(ttl) // renewed as any lease
	holds("renewed", akey, false, a, b, r)
	if st := s.Stats(); st.LeasesLost != 0 {
		t.Fatalf("enrolled calls counted as lost: %+v", st)
	}
	s.Release(b) // after the enrollment: exactly its members
	s.Release(r)
	r = take("", 2, remoteLease)
	holds("released", akey, false, a, r)

	srv.stop() // a second outage: a and r are held, 3 units of the share's 4
	l, d := try("", 1)
	if !d.Allowed || l.kind != degradedLease {
		t.Fatalf("one unit left in the share: %+v, kind %d", d, l.kind)
	}
	if _, d := try("", 1); d.Allowed || d.Reason != store.ReasonConcurrency {
		t.Fatalf("the share full again (an enrolled call counted once): %+v", d)
	}
	s.Release(l)
	s.Release(a) // during the outage: its lease runs out in Redis
	var ls []*Lease
	for range 3 {
		if l, d := try("", 1); d.Allowed {
			ls = append(ls, l)
		}
	}
	if len(ls) != 2 {
		t.Fatalf("a released during the second outage: the share admits %d units beside r's 2, want 2", len(ls))
	}
	wait()
	time.Sleep(ttl) // a's lease runs out; the calls in flight are enrolled
	holds("after the second outage", akey, false, r, ls[0], ls[1])
	holds("after the second outage", ckey, true)
	released = []string{r.member, ls[0].member, ls[1].member}
	s.Release(r)
	s.Release(ls[0])
	s.Release(ls[1])
	sent(akey, released...)
	holds("all released", akey, false)
}
