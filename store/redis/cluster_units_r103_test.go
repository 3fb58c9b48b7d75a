package redis

import (
	"strconv"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// On a three-node cluster, tenants spread over the nodes: b's kept
// one-unit spares are given back once a's composite call is refused (the
// mark, renewals), so a's composite is admitted while b's one-unit calls
// go on; and every unit is given back (the app keys empty) at the end.
func TestClusterCompositeAndSpares_r103(t *testing.T) {
	_, rc, a := clusterStore(t)
	b := newStore(t, rc, WithPrefix(a.cfg.prefix), WithCreditLeasing(64), WithLeaseTTL(30*time.Millisecond))
	p := store.Plan{Name: "free", Credits: 1 << 20, Window: time.Hour, Concurrency: 5}
	pf := func(string) *store.Plan { return &p }
	take := func(s *Store, tenant string, units int64) (*Lease, store.Decision) {
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: tenant, App: "a", Credits: 1, Units: units}, pf, &l, &d)
		return &l, d
	}
	var akeys []string
	refused := 0
	for i := range 6 {
		tenant := "ct" + strconv.Itoa(i)
		one := func() {
			l, d := take(b, tenant, 1)
			if !d.Allowed {
				t.Fatalf("%s: b's one-unit call refused: %+v", tenant, d)
			}
			b.Release(l)
		}
		one()
		tries := 0
		for deadline := time.Now().Add(2 * time.Second); ; tries++ {
			l, d := take(a, tenant, 5)
			if d.Allowed {
				akeys = append(akeys, l.akey)
				refused += tries
				a.Release(l)
				break
			}
			if d.Reason != store.ReasonConcurrency || time.Now().After(deadline) {
				t.Fatalf("%s: composite refused (%v) after %d tries", tenant, d.Reason, tries)
			}
			one()
			time.Sleep(time.Millisecond)
		}
	}
	t.Logf("composites refused %d times in all before admitted", refused)
	b.Close(t.Context())
	a.Close(t.Context())
	time.Sleep(50 * time.Millisecond)
	for _, k := range akeys {
		if n := rc.ZCard(t.Context(), k).Val(); n != 0 {
			t.Errorf("%s holds %d units after both instances closed: %v", k, n, rc.ZRange(t.Context(), k, 0, -1).Val())
		}
	}
}
