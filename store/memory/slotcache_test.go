package memory

import (
	"testing"
	"time"
	"unsafe"

	"github.com/creditgate/creditgate/internal/slots"
	"github.com/creditgate/creditgate/store"
)

// With WithSlotCache, a slot given back is cached but not held: Held counts
// the calls in flight only, the caps count them exactly whatever is cached,
// a drain (as folding does) leaves only the calls in flight in the
// tenant's word, and the cache's bytes count against the store's bound.
func TestSlotCacheHeldAndCap(t *testing.T) {
	now := time.Unix(1e9, 0)
	plan := &store.Plan{Name: "p", Credits: 100, Window: time.Hour, Concurrency: 2,
		SubConcurrency: map[string]int64{"bulk": 1}}
	plans := func(string) *store.Plan { return plan }
	s := New(WithSlotCache())
	take := func(class string, want store.Reason) *Lease {
		t.Helper()
		l := new(Lease)
		var d store.Decision
		s.Take(now, &store.Request{Tenant: "t", App: "a", Class: class, Credits: 1}, plans, l, &d)
		if d.Reason != want {
			t.Fatalf("take (class %q): %v, want %v", class, d.Reason, want)
		}
		return l
	}
	held := func(want int64) {
		t.Helper()
		if got := s.Held("t"); got != want {
			t.Fatalf("Held = %d, want %d", got, want)
		}
	}
	for round := range 3 { // each round's releases leave slots cached for the next
		a, b := take("bulk", store.ReasonNone), take("", store.ReasonNone)
		held(3) // two app slots and a class slot
		take("", store.ReasonConcurrency)
		s.Release(a)
		held(1)
		a = take("bulk", store.ReasonNone)
		take("bulk", store.ReasonConcurrency)
		take("", store.ReasonConcurrency)
		s.Release(b)
		held(2)
		b = take("", store.ReasonNone)
		held(3)
		s.Release(b)
		held(2)
		tn := s.lookup("t")
		if s.busy(tn) != true { // busy drains the cache
			t.Fatalf("round %d: a tenant with a call in flight is not busy", round)
		}
		if ha, hb := tn.slots0.Held(); ha != 1 || hb != 1 {
			t.Fatalf("round %d: after a drain the tenant's word holds %d,%d, want the call in flight: 1,1", round, ha, hb)
		}
		s.Release(a)
		held(0)
	}
	want := int64(tenantCost(s.lookup("t")))
	if size := int64(unsafe.Sizeof(slots.PairCache{})); s.Bytes() != want || want < size {
		t.Fatalf("Bytes = %d, tenant cost %d: the cache's %d bytes not counted", s.Bytes(), want, size)
	}
	plain := New()
	plain.Take(now, &store.Request{Tenant: "t", App: "a", Class: "bulk", Credits: 1}, plans, new(Lease), new(store.Decision))
	// What the allocator takes: a withCache (952 bytes, and the 8-byte
	// header of an object of more than 512 bytes with pointers) is in the
	// 1,024-byte size class, a tenant in the 256-byte one.
	if sz := unsafe.Sizeof(withCache{}); sz+8 <= 896 || sz+8 > 1024 {
		t.Fatalf("a withCache is %d bytes: not in the 1,024-byte size class", sz)
	}
	if plain.Bytes()+1024-256 != s.Bytes() {
		t.Fatalf("Bytes with the cache %d, without %d: the difference is not what the allocator takes more (768)", s.Bytes(), plain.Bytes())
	}
}
