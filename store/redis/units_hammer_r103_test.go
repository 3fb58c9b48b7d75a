package redis

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// Several instances with credit leasing (spares, marks) on one Redis,
// goroutines taking calls of 1 to 5 units of a cap of 5 (and one class
// capped at 2): the units in flight across the fleet never pass the cap,
// and when every call has ended a composite call is admitted.
func TestUnitsFleetNoOverAdmission_r103(t *testing.T) {
	t.Run("leasing", func(t *testing.T) { unitsFleet(t, WithCreditLeasing(64)) })
	t.Run("plain", func(t *testing.T) { unitsFleet(t) })
}

func unitsFleet(t *testing.T, opts ...Option) {
	c := client(t, shared.addr())
	prefix := "r103ham" + time.Now().Format("150405.000000") + ":"
	ttl := 400 * time.Millisecond // renewals at a third of it: under -race on two busy cores a 40 ms lease ran out between renewals, and Redis rightly dropped a call still running
	opts = append(opts, WithLeaseTTL(ttl), WithPrefix(prefix))
	var ss []*Store
	for range 3 {
		ss = append(ss, newStore(t, c, opts...))
	}
	p := store.Plan{Name: "free", Credits: 1 << 30, Window: time.Hour, Concurrency: 5,
		SubConcurrency: map[string]int64{"bulk": 2}}
	pf := func(string) *store.Plan { return &p }
	var inflight, bulk, maxIn, maxBulk, admitted, composite atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(1500 * time.Millisecond)
	for g := range 9 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := ss[g%len(ss)]
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for time.Now().Before(stop) {
				units := int64(1)
				if r.IntN(4) == 0 {
					units = 1 + r.Int64N(5)
				}
				class := ""
				if r.IntN(3) == 0 {
					class = "bulk"
				}
				var l Lease
				var d store.Decision
				s.Take(time.Now(), &store.Request{Tenant: "t", App: "a", Class: class, Credits: 1, Units: units}, pf, &l, &d)
				if !d.Allowed {
					time.Sleep(time.Duration(r.IntN(300)) * time.Microsecond)
					continue
				}
				admitted.Add(1)
				if units == 5 {
					composite.Add(1)
				}
				n := inflight.Add(units)
				for m := maxIn.Load(); n > m && !maxIn.CompareAndSwap(m, n); m = maxIn.Load() {
				}
				if class != "" {
					b := bulk.Add(1)
					for m := maxBulk.Load(); b > m && !maxBulk.CompareAndSwap(m, b); m = maxBulk.Load() {
					}
				}
				time.Sleep(time.Duration(r.IntN(2000)) * time.Microsecond)
				if class != "" {
					bulk.Add(-1)
				}
				inflight.Add(-units)
				s.Release(&l)
			}
		}()
	}
	wg.Wait()
	t.Logf("admitted %d (%d composite), max units in flight %d, max bulk %d", admitted.Load(), composite.Load(), maxIn.Load(), maxBulk.Load())
	if maxIn.Load() > 5 || maxBulk.Load() > 2 {
		t.Fatalf("over-admitted: %d units in flight (cap 5), %d bulk calls (cap 2)", maxIn.Load(), maxBulk.Load())
	}
	// nothing in flight: a composite call is admitted on some instance
	// within a few renewals (the others' spares given back); the marks and spares live a lease TTL
	deadline := time.Now().Add(4 * time.Second)
	for {
		var l Lease
		var d store.Decision
		ss[0].Take(time.Now(), &store.Request{Tenant: "t", App: "a", Credits: 1, Units: 5}, pf, &l, &d)
		if d.Allowed {
			ss[0].Release(&l)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("composite call refused (%v) 2 s after every call ended", d.Reason)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
