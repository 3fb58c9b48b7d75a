package memory

import (
	"bytes"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// slotCacheStore is a store with the slot cache, a take for tenant "t"
// that must decide want, and a check of Held.
func slotCacheStore(t *testing.T, plan func() *store.Plan, opts ...Option) (s *Store, take func(app, class string, want store.Reason) *Lease, held func(int64)) {
	s = New(append([]Option{WithSlotCache(), WithIdleAfter(time.Minute)}, opts...)...)
	plans := func(string) *store.Plan { return plan() }
	take = func(app, class string, want store.Reason) *Lease {
		t.Helper()
		l := new(Lease)
		var d store.Decision
		s.Take(foldT0, &store.Request{Tenant: "t", App: app, Class: class, Credits: 1}, plans, l, &d)
		if d.Reason != want {
			t.Fatalf("take (app %q, class %q): %v, want %v", app, class, d.Reason, want)
		}
		return l
	}
	held = func(want int64) {
		t.Helper()
		if got := s.Held("t"); got != want {
			t.Fatalf("Held = %d, want %d", got, want)
		}
	}
	return s, take, held
}

// Calls given back below a deep frame, in another 8 KiB block of the stack
// (mostly another stripe, as after the goroutine's stack moved), lose no
// slot, and one at a time a take is refused only when no slot is free,
// whichever stripes the slots are cached on; once all is given back the
// tenant is idle and is swept.
func TestSlotCacheStackMoves(t *testing.T) {
	plan := &store.Plan{Name: "p", Credits: 100, Window: time.Hour, Concurrency: 2}
	s, take, held := slotCacheStore(t, func() *store.Plan { return plan })
	for round := range 3 {
		a, b := take("a", "", store.ReasonNone), take("a", "", store.ReasonNone)
		take("a", "", store.ReasonConcurrency)
		framed(func() int { s.Release(a); s.Release(b); return 0 }) // another stripe
		held(0)
		var c, d *Lease
		if round%2 == 0 { // taken where they were given back, or not
			framed(func() int { c, d = take("a", "", store.ReasonNone), take("a", "", store.ReasonNone); return 0 })
		} else {
			c, d = take("a", "", store.ReasonNone), take("a", "", store.ReasonNone)
		}
		held(2)
		take("a", "", store.ReasonConcurrency)
		s.Release(c)
		framed(func() int { s.Release(d); return 0 })
		held(0)
	}
	if n := s.Sweep(foldT0.Add(2 * time.Hour)); n != 1 {
		t.Fatalf("Sweep took %d tenants once all was given back, want 1: a slot was lost", n)
	}
}

// A plan change that drops the first capped class leaves its slots cached
// with the application's (both halves in one stripe): they refuse no take
// of the application alone, which the cap still counts exactly, and nothing
// is lost.
func TestSlotCachePlanDropsClass(t *testing.T) {
	withClass := &store.Plan{Name: "p", Credits: 100, Window: time.Hour, Concurrency: 2,
		SubConcurrency: map[string]int64{"bulk": 1}}
	without := &store.Plan{Name: "q", Credits: 100, Window: time.Hour, Concurrency: 2}
	plan := withClass
	s, take, held := slotCacheStore(t, func() *store.Plan { return plan })
	a := take("a", "bulk", store.ReasonNone)
	take("a", "bulk", store.ReasonSubConcurrency)
	b := take("a", "", store.ReasonNone)
	s.Release(b)
	s.Release(a) // a's two halves cached on this stripe, b's given back
	plan = without
	if err := s.SetPlan(foldT0, "t", without); err != nil {
		t.Fatal(err)
	}
	held(0)
	c, d := take("a", "bulk", store.ReasonNone), take("a", "", store.ReasonNone) // bulk is not capped now
	held(2)
	take("a", "bulk", store.ReasonConcurrency)
	s.Release(c)
	s.Release(d)
	held(0)
	plan = withClass // the class capped again: an entry of its own
	if err := s.SetPlan(foldT0, "t", withClass); err != nil {
		t.Fatal(err)
	}
	e := take("a", "bulk", store.ReasonNone)
	take("b", "bulk", store.ReasonSubConcurrency)
	f := take("a", "", store.ReasonNone)
	take("a", "", store.ReasonConcurrency)
	held(3)
	s.Release(e)
	s.Release(f)
	held(0)
	if n := s.Sweep(foldT0.Add(2 * time.Hour)); n != 1 {
		t.Fatalf("Sweep took %d tenants once all was given back, want 1: a slot was lost", n)
	}
}

// Tenants restored from a snapshot into a store with the slot cache have
// their cache, counted in Bytes, and their caps; those that fit only
// folded come back with theirs.
func TestSlotCacheRestore(t *testing.T) {
	src := New()
	for _, k := range []string{"x", "y", "z"} {
		spend(t, src, foldT0, k, 10)
	}
	var buf bytes.Buffer
	if err := src.SnapshotAt(foldT0, &buf); err != nil {
		t.Fatal(err)
	}
	// Room for two active tenants with their caches: the third folded.
	probe := New(WithSlotCache())
	spend(t, probe, foldT0, "x", 10)
	one := probe.Bytes()
	s := New(WithSlotCache(), WithMaxBytes(2*one+one/2))
	if err := s.RestoreAt(foldT0, bytes.NewReader(buf.Bytes()), foldPlans); err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, k := range []string{"x", "y", "z"} {
		if tn := s.lookup(k); tn != nil {
			if tn.cache() == nil || tn.cost != tenantCost(tn) {
				t.Fatalf("restored tenant %q: cache %p, cost %d, want %d", k, tn.cache(), tn.cost, tenantCost(tn))
			}
			sum += int64(tn.cost)
		}
	}
	if s.Len() != 2 || s.Bytes() <= sum || s.Bytes() > s.maxBytes {
		t.Fatalf("%d active tenants of %d bytes, Bytes %d of %d", s.Len(), sum, s.Bytes(), s.maxBytes)
	}
	for _, k := range []string{"x", "y", "z"} { // caps and spends as before, folded or not
		var ls [3]Lease
		var d store.Decision
		for i := range ls {
			s.Take(foldT0, &store.Request{Tenant: k, App: "x", Credits: 1}, foldPlans, &ls[i], &d)
			if want := i < 2; d.Allowed != want {
				t.Fatalf("%s: take %d: %+v, want allowed %v under a concurrency of 2", k, i, d, want)
			}
			if d.Allowed && i == 0 && d.Remaining != 89 {
				t.Fatalf("%s: %d left after 10 restored and 1, want 89", k, d.Remaining)
			}
		}
		s.Release(&ls[0])
		s.Release(&ls[1])
		if h := s.Held(k); h != 0 {
			t.Fatalf("%s: Held %d once released", k, h)
		}
		if s.lookup(k).cache() == nil {
			t.Fatalf("%s came back without its slot cache", k)
		}
	}
}
