package memory

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// A lease remembers its tenant, and Take tries that tenant before a lookup
// (the limiter reuses leases per P). The shortcut must never admit into the
// wrong pool: not another store's tenant, not an evicted one, not another
// key's.
func TestLeaseRemembersOnlyItsOwnTenant(t *testing.T) {
	take := func(s *Store, at time.Time, tenant string, n int64, l *Lease) store.Decision {
		t.Helper()
		var d store.Decision
		s.Take(at, &store.Request{Tenant: tenant, App: "x", Credits: n}, foldPlans, l, &d)
		if !d.Allowed {
			t.Fatalf("%s refused: %+v", tenant, d)
		}
		s.Release(l)
		return d
	}
	remaining := func(s *Store, at time.Time, tenant string) int64 {
		return s.Peek(at, tenant, 0, foldPlans).Remaining
	}
	s1, s2 := New(), New()
	var l Lease
	at := foldT0
	take(s1, at, "a", 10, &l)
	// The same lease with another store: s2 gets a tenant of its own.
	if d := take(s2, at, "a", 5, &l); d.Remaining != 95 {
		t.Fatalf("s2's a has %d left after 5 of 100, want 95 (the lease's tenant is s1's)", d.Remaining)
	}
	if got := remaining(s1, at, "a"); got != 90 {
		t.Fatalf("s1's a has %d left, want 90", got)
	}
	if s2.Len() != 1 {
		t.Fatalf("s2 holds %d tenants, want 1", s2.Len())
	}
	// Another key with the same lease and store.
	take(s1, at, "a", 1, &l)
	take(s1, at, "b", 7, &l)
	if a, b := remaining(s1, at, "a"), remaining(s1, at, "b"); a != 89 || b != 93 {
		t.Fatalf("a, b have %d, %d left, want 89, 93", a, b)
	}
	// b idles out and is folded; the lease still points at the dead tenant
	// (which admit also checks once it holds the tenant's slots).
	s3 := New(WithIdleAfter(time.Minute))
	take(s3, at, "b", 7, &l)
	later := at.Add(10 * time.Minute)
	if s3.Sweep(later) != 1 {
		t.Fatal("the idle tenant was not swept")
	}
	if d := take(s3, later, "b", 3, &l); d.Remaining != 90 {
		t.Fatalf("b has %d left after 7 and 3 of 100, want 90 (spent in the folded tenant or lost)", d.Remaining)
	}
	if s3.Len() != 1 {
		t.Fatalf("s3 holds %d tenants, want 1", s3.Len())
	}
}
