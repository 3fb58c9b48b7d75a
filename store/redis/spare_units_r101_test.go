package redis

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// With credit leasing, an instance keeps the slot of a call of one unit as
// a spare for its next call, and keeps it while calls use it (a sweep
// drops only spares unused since the last). That spare is a unit of the
// application's cap in Redis: a composite call of 5 units on a cap of 5 is
// then refused for concurrency with no call in flight anywhere, for as
// long as one-unit calls go on (a gateway serving both: composite calls
// get 429 for good).
func TestCompositeNotRefusedByOwnSpare_r101(t *testing.T) {
	c := client(t, shared.addr())
	s := newStore(t, c, WithCreditLeasing(64))
	p := store.Plan{Name: "free", Credits: 1 << 20, Window: time.Hour, Concurrency: 5}
	pf := func(string) *store.Plan { return &p }
	take := func(units int64) (*Lease, store.Decision) {
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "t", App: "a", Credits: 1, Units: units}, pf, &l, &d)
		return &l, d
	}
	var akey string
	for i := range 3 { // calls of one unit, one at a time
		l, d := take(1)
		if !d.Allowed {
			t.Fatalf("call %d of one unit refused: %+v", i, d)
		}
		akey = l.akey
		s.Release(l)
	}
	l, d := take(5)
	if !d.Allowed {
		t.Fatalf("a composite call of 5 units on a cap of 5, no call in flight: refused (%v); the app's key holds %d members",
			d.Reason, c.ZCard(t.Context(), akey).Val())
	}
	s.Release(l)
}
