package memory

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// TestFastAdmissionTouchesR128: a store WithIdleAfter folds a tenant
// unused for that long; an admission of the common kind (admit's fast
// path, on the lease's tenant) counts as a use. Used 50s after its
// creation, the tenant is not idle a minute after its creation.
func TestFastAdmissionTouchesR128(t *testing.T) {
	s := New(WithIdleAfter(time.Minute))
	p := store.Plan{Name: "p", Credits: 100, Window: time.Hour, Concurrency: 2}
	plans := func(string) *store.Plan { return &p }
	var l Lease
	var d store.Decision
	req := store.Request{Tenant: "k", App: "a", Credits: 1}
	s.Take(foldT0, &req, plans, &l, &d)
	s.Release(&l)
	s.Take(foldT0.Add(50*time.Second), &req, plans, &l, &d)
	if !d.Allowed {
		t.Fatalf("second call refused: %v", d.Reason)
	}
	s.Release(&l)
	if n := s.Sweep(foldT0.Add(61 * time.Second)); n != 0 {
		t.Fatalf("sweep folded %d tenants 11s after the tenant's last use (idle after 1m)", n)
	}
}

// TestLeaseUnitsNotStaleR128: a pooled lease serves admissions of
// different units, applications and paths in turn; each Release gives back
// what its own admission took, and b's cap (2) is whole after each.
func TestLeaseUnitsNotStaleR128(t *testing.T) {
	s := New()
	p := store.Plan{Name: "p", Credits: 100, Window: time.Hour, Concurrency: 2, SubConcurrency: map[string]int64{"bulk": 1, "q": 1}}
	plans := func(string) *store.Plan { return &p }
	var l, l2 Lease
	var d, d2 store.Decision
	for i, req := range []store.Request{
		{App: "b", Units: 2},
		{App: "a"},
		{App: "b", Class: "q"},
		{App: "a", Class: "bulk"},
		{App: "b", Units: 2, Class: "q"},
		{App: "b"},
		{App: "a", Units: 2},
		{App: "b", Class: "bulk"},
	} {
		req.Tenant = "k"
		s.Take(foldT0, &req, plans, &l, &d)
		if !d.Allowed {
			t.Fatalf("call %d (%+v) refused: %v", i, req, d.Reason)
		}
		s.Release(&l)
		if n := s.Held("k"); n != 0 {
			t.Fatalf("call %d: Held %d after its release", i, n)
		}
		s.Take(foldT0, &store.Request{Tenant: "k", App: req.App, Units: 2}, plans, &l2, &d2)
		if !d2.Allowed {
			t.Fatalf("after call %d: %s's whole cap refused: %v", i, req.App, d2.Reason)
		}
		s.Release(&l2)
	}
}
