package memory

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

var foldT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func foldPlans(string) *store.Plan { return &foldPlan }

var foldPlan = store.Plan{Name: "f", Credits: 100, Window: time.Hour, Concurrency: 2,
	SubConcurrency: map[string]int64{"bulk": 1}}

func spend(t *testing.T, s *Store, at time.Time, tenant string, n int64) store.Decision {
	t.Helper()
	var l Lease
	var d store.Decision
	s.Take(at, &store.Request{Tenant: tenant, App: "x", Credits: n}, foldPlans, &l, &d)
	if d.Allowed {
		s.Release(&l)
	}
	return d
}

// A full table no longer locks new tenants out until credits come back
// (issue #13 item 6): 20,000 tenants each spend with room for 500 active
// ones; every one is admitted, the idle ones fold, each keeps its spending,
// and the records go once their credits are back.
func TestFoldManyTenants(t *testing.T) {
	s := New(WithMaxTenants(500), WithSlots(12))
	const n = 20_000
	for i := range n {
		at := foldT0.Add(time.Duration(i) * 100 * time.Millisecond)
		if d := spend(t, s, at, fmt.Sprint("t", i), 1+int64(i%7)); !d.Allowed {
			t.Fatalf("tenant %d refused with %d active and %d folded: %+v", i, s.Len(), s.Folded(), d)
		}
	}
	if s.Len() > 501 || s.Len()+s.Folded() != n {
		t.Fatalf("%d active and %d folded, want at most 500 active and %d in all", s.Len(), s.Folded(), n)
	}
	end := foldT0.Add(n * 100 * time.Millisecond)
	for _, i := range []int{0, 1, 777, 12345, n - 1} {
		if d := s.Peek(end, fmt.Sprint("t", i), 0, foldPlans); d.Remaining != 100-1-int64(i%7) {
			t.Fatalf("tenant %d: %+v", i, d)
		}
	}
	// Back: exactly the credits left, no more.
	if d := spend(t, s, end, "t12345", 100-int64(12345%7)); d.Allowed {
		t.Fatalf("a folded tenant came back with more than it had: %+v", d)
	}
	if d := spend(t, s, end, "t12345", 99-int64(12345%7)); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("a folded tenant came back with less than it had: %+v", d)
	}
	if got := s.Sweep(end.Add(3 * time.Hour)); got < n-1 || s.Folded() != 0 {
		t.Fatalf("three hours on, the sweep removed %d, %d records left", got, s.Folded())
	}
	if b := s.Bytes(); b != 0 {
		t.Fatalf("an empty store counts %d bytes", b)
	}
}

// Folding is invisible: a bounded store that folds and rebuilds tenants all
// the time answers exactly as an unbounded one, on random traffic.
func TestFoldMatchesUnbounded(t *testing.T) {
	for seed := range uint64(5) {
		rng := rand.New(rand.NewPCG(seed, 1))
		folding, plain := New(WithMaxTenants(3), WithSlots(12)), New(WithSlots(12))
		now := foldT0
		for i := range 3000 {
			now = now.Add(time.Duration(rng.Int64N(int64(2 * time.Minute))))
			tenant := fmt.Sprint("t", rng.IntN(10))
			n := rng.Int64N(30)
			a, b := spend(t, folding, now, tenant, n), spend(t, plain, now, tenant, n)
			if a.Allowed != b.Allowed || a.Remaining != b.Remaining || !a.Reset.Equal(b.Reset) {
				t.Fatalf("seed %d step %d, %s takes %d: folding %+v, unbounded %+v", seed, i, tenant, n, a, b)
			}
			p, q := folding.Peek(now, tenant, 50, foldPlans), plain.Peek(now, tenant, 50, foldPlans)
			if p.Remaining != q.Remaining || p.Used != q.Used || p.RetryAfter != q.RetryAfter {
				t.Fatalf("seed %d step %d, peek %s: folding %+v, unbounded %+v", seed, i, tenant, p, q)
			}
		}
		if folding.Evicted() == 0 {
			t.Fatal("nothing was folded: the test tests nothing")
		}
	}
}

// The same memory holds at least 10 times more idle tenants folded than
// active (issue #13 item 6), as the Go heap measures it, or a folded record
// is at most 119 B (see below); and the store's own
// count of bytes is within a factor of two of the heap's.
func TestFoldMemory(t *testing.T) {
	const n = 20_000
	heap := func(build func() *Store) (float64, *Store) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := build()
		runtime.GC()
		runtime.ReadMemStats(&after)
		return float64(after.HeapAlloc-before.HeapAlloc) / n, s
	}
	// Each tenant spends in two slots (foldPlan's are 37.5 s wide), so
	// that its pool's ring of slot words exists, as in any tenant active
	// for longer than a slot; TestLazyRing measures one that is not.
	const second = 40 * time.Second
	fill := func(s *Store) *Store {
		for i := range n {
			at, key := foldT0.Add(time.Duration(i)*100*time.Millisecond), fmt.Sprintf("tenant-%06d", i)
			spend(t, s, at, key, 1)
			spend(t, s, at.Add(second), key, 1)
		}
		return s
	}
	active, sa := heap(func() *Store { return fill(New()) })
	folded, sf := heap(func() *Store { s := fill(New()); s.Sweep(foldT0.Add(n*100*time.Millisecond + second)); return s })
	t.Logf("per tenant: active %.0f B (counted %d), folded %.0f B (counted %d)",
		active, sa.Bytes()/n, folded, sf.Bytes()/n)
	// Issue #13 item 6 asked for ten times. Issue #17 shrinks the active
	// tenant (its ring's words are 32 bits) and leaves the folded record
	// as it was, so the ratio fell (1,190 / 113 B to 837 / 113 B, then
	// 621 / 114 B with 21-bit lanes first) with nothing folded growing:
	// the record must stay within a tenth of the active tenant as it was
	// when the ratio was last met (1,190 B).
	if active < 10*folded && folded > 119 {
		t.Fatalf("active %.0f B, folded %.0f B per tenant: less than 10 times smaller, and above 119 B", active, folded)
	}
	for _, c := range []struct {
		heap    float64
		counted int64
	}{{active, sa.Bytes() / n}, {folded, sf.Bytes() / n}} {
		if float64(c.counted) < c.heap/2 || float64(c.counted) > c.heap*2 {
			t.Fatalf("counted %d B per tenant, the heap says %.0f", c.counted, c.heap)
		}
	}
	runtime.KeepAlive(sa)
	runtime.KeepAlive(sf)
}

// Bounded in bytes: folded records that fill the budget are kept (dropping
// them would hand their tenants fresh pools) and a new tenant is refused
// until the first of them expires, which its RetryAfter says.
func TestFoldBytesBound(t *testing.T) {
	s := New(WithMaxBytes(4096), WithSlots(12))
	var i int
	for ; i < 1000; i++ {
		if d := spend(t, s, foldT0, fmt.Sprint("t", i), 1); !d.Allowed {
			if d.Reason != store.ReasonTenants || d.RetryAfter < 55*time.Minute || d.RetryAfter > 66*time.Minute {
				t.Fatalf("tenant %d: %+v, want a refusal until the first record expires", i, d)
			}
			break
		}
	}
	if i == 1000 || s.Folded() == 0 {
		t.Fatalf("%d tenants admitted, %d folded: the bound did not bind", i, s.Folded())
	}
	if b := s.Bytes(); b > 4096+2048 { // one tenant (about 1,300 B) over at most
		t.Fatalf("%d bytes held with a bound of 4096", b)
	}
	if d := spend(t, s, foldT0.Add(2*time.Hour), "late", 1); !d.Allowed {
		t.Fatalf("after the records expired: %+v", d)
	}
}

// foldUntil reads records in place as decodeFold does, without allocating.
func TestFoldUntil(t *testing.T) {
	s := New(WithSlots(12))
	p := foldPlan
	p.Extra = []store.WindowLimit{{Credits: 50, Window: 2 * time.Hour}}
	plans := func(string) *store.Plan { return &p }
	for i := range 5 {
		var l Lease
		var d store.Decision
		s.Take(foldT0.Add(time.Duration(i)*17*time.Minute), &store.Request{Tenant: "a", App: "x", Credits: 3}, plans, &l, &d)
		s.Release(&l)
	}
	rec, ok := encodeFold(foldT0.Add(90*time.Minute), s.lookup("a").wins.Load())
	if !ok {
		t.Fatal("nothing encoded")
	}
	var want int64
	for _, fw := range decodeFold(rec) {
		for _, e := range fw.returns {
			want = max(want, e[0])
		}
	}
	if got := foldUntil(rec); got != want || want == 0 {
		t.Fatalf("foldUntil = %d, decodeFold says %d", got, want)
	}
	if n := testing.AllocsPerRun(100, func() { foldUntil(rec) }); n != 0 {
		t.Fatalf("foldUntil allocates %v times", n)
	}
}

// A tenant that has spent within one slot's width has no ring of slot words
// yet (window.Rolling allocates it at the first roll), so it takes at most
// half the memory of one that has rolled (issue #17 item 1); WithMaxBytes
// still counts the ring it may grow, so the bound holds when it does.
func TestLazyRing(t *testing.T) {
	const n = 20_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := New()
	for i := range n {
		spend(t, s, foldT0.Add(time.Duration(i)*time.Millisecond), fmt.Sprintf("tenant-%06d", i), 1)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("per tenant: %.0f B on the heap, %d B counted", heap, s.Bytes()/n)
	if heap > 1311/2 {
		t.Fatalf("%.0f B per tenant that spent in one slot, want at most 655 (half of 1,311)", heap)
	}
	if float64(s.Bytes()/n) < heap {
		t.Fatalf("counted %d B per tenant, less than the %.0f B on the heap", s.Bytes()/n, heap)
	}
	runtime.KeepAlive(s)
}
