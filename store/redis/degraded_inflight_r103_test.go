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
