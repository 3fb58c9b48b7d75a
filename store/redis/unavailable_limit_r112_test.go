package redis

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// store.Decision's Limit: "0 when no pool was read: ... a shared store out
// of reach deciding alone (the Redis store's failure modes), whose
// Remaining and Used are then not the pool's either". A Take out of reach
// says so (Limit 0), but the Settle of its lease (the middleware's
// Ticket.Reserve of a body-priced request's rest, which then becomes the
// decision the limit headers show), and a Settle or Charge that cannot
// reach Redis, report the plan's Credits as Limit beside Remaining 0 and
// Used 0: the middleware then sends X-RATELIMIT-LIMIT 1000 and
// X-RATELIMIT-REMAINING 0 for a pool nobody read.
func TestUnavailableSettleNamesNoPool_r112(t *testing.T) {
	for _, mode := range []Mode{FailOpen, Degraded} {
		srv, err := startServer(0)
		if err != nil {
			t.Fatal(err)
		}
		s := newStore(t, client(t, srv.addr()), WithFailure(mode, 2), WithBreaker(1, time.Hour), WithTimeout(200*time.Millisecond))
		p := store.Plan{Name: "free", Credits: 1000, Window: time.Hour, Concurrency: 4}
		pf := func(string) *store.Plan { return &p }
		var warm Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "t", App: "a", Credits: 1, Units: 1}, pf, &warm, &d) // through Redis
		if !d.Allowed || d.Limit != 1000 {
			t.Fatalf("%v: through Redis: %+v", mode, d)
		}
		srv.stop()
		var l Lease
		s.Take(time.Now(), &store.Request{Tenant: "t", App: "a", Credits: 1, Units: 1}, pf, &l, &d)
		if !d.Allowed || d.Limit != 0 {
			t.Fatalf("%v: out of reach, the take: %+v", mode, d)
		}
		if d = s.Settle(time.Now(), &l, 4, true); d.Limit != 0 {
			t.Errorf("%v: out of reach, the settle (a Reserve) of its lease: Limit %d, Remaining %d, Used %d: a pool it did not read",
				mode, d.Limit, d.Remaining, d.Used)
		}
		if d = s.Settle(time.Now(), &warm, 4, true); d.Limit != 0 {
			t.Errorf("%v: out of reach, the settle of a lease taken through Redis: Limit %d, Remaining %d, Used %d",
				mode, d.Limit, d.Remaining, d.Used)
		}
		if d = s.Charge(time.Now(), "t", 1, pf); d.Limit != 0 {
			t.Errorf("%v: out of reach, a charge: Limit %d, Remaining %d, Used %d", mode, d.Limit, d.Remaining, d.Used)
		}
		s.Release(&l)
		s.Release(&warm)
		srv.remove()
	}
}
