package redis

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// SetPlan on a tenant Redis does not hold leaves the plan pending, for a
// Take racing with it (one that asked its PlanFunc before the plan was
// stored) to create the tenant with it (store.Store.SetPlan). A take of
// one unit does adopt it; a take of more units than the PlanFunc's cap,
// which the plan stored has room for, is judged by the read-only peek,
// which never looks at the pending plan: refused, naming the stale
// plan's pool (Limit 1000), where the same race with a held tenant takes
// it (TestUnitsOverCapUnderStoredPlan).
func TestUnitsOverCapPendingPlan_r108(t *testing.T) {
	prefix := "r108pend" + time.Now().Format("150405.000000") + ":"
	a := newStore(t, client(t, shared.addr()), WithPrefix(prefix))
	b := newStore(t, client(t, shared.addr()), WithPrefix(prefix))
	p := store.Plan{Name: "free", Credits: 1000, Window: time.Hour, Concurrency: 5}
	pf := func(string) *store.Plan { return &p }
	big := store.Plan{Name: "big", Credits: 2000, Window: time.Hour, Concurrency: 8}
	for _, units := range []int64{6, 1} {
		tenant := "t" + string(rune('0'+units))
		if err := b.SetPlan(time.Now(), tenant, &big); err != nil { // not held: pending
			t.Fatal(err)
		}
		var l Lease
		var d store.Decision
		a.Take(time.Now(), &store.Request{Tenant: tenant, App: "a", Credits: 10, Units: units}, pf, &l, &d)
		if d.Allowed {
			a.Release(&l)
		}
		if !d.Allowed || d.Limit != 2000 {
			t.Errorf("%d units, the plan pending in Redis has a cap of 8 (the caller's 5): %+v", units, d)
		}
	}
}
