package memory

import (
	"testing"

	"github.com/creditgate/creditgate/store"
)

// Take compares the lease's key first only while the lease's tenant is the
// one asked for; once a lookup finds another, seek skips that compare until
// a lookup finds the lease's tenant again. The hint must follow the calls:
// set by a switch of tenant, cleared by a lookup of the lease's own, and
// never make a call admit into another tenant's pool.
func TestLeaseSeekFollowsTheCalls(t *testing.T) {
	s := New()
	var l Lease
	take := func(tenant string) {
		t.Helper()
		var d store.Decision
		s.Take(foldT0, &store.Request{Tenant: tenant, App: "x", Credits: 1}, foldPlans, &l, &d)
		if !d.Allowed {
			t.Fatalf("%s refused: %+v", tenant, d)
		}
		if got := l.t.key; got != tenant {
			t.Fatalf("the lease holds %q after a call of %q", got, tenant)
		}
		s.Release(&l)
	}
	steps := []struct {
		tenant string
		seek   bool // after the call
	}{
		{"tenant-a", true},  // a fresh lease: looked up (created), not the lease's (none)
		{"tenant-a", false}, // looked up: the lease's own, so compare next time
		{"tenant-a", false}, // compared and admitted, no lookup
		{"tenant-b", true},  // compared, missed, looked up: another tenant
		{"tenant-a", true},  // no compare; looked up: another again (the lease held b)
		{"tenant-a", false}, // looked up: the lease's own, so compare next time
		{"tenant-a", false}, // compared and admitted
		{"tenant-c", true},
		{"tenant-c", false},
	}
	for i, st := range steps {
		take(st.tenant)
		if l.seek != st.seek {
			t.Fatalf("step %d (%s): seek %v, want %v", i, st.tenant, l.seek, st.seek)
		}
	}
	// Each call was counted in its own tenant's pool.
	for key, n := range map[string]int64{"tenant-a": 6, "tenant-b": 1, "tenant-c": 2} {
		if got := s.Peek(foldT0, key, 0, foldPlans).Used; got != n {
			t.Fatalf("%s used %d, want %d", key, got, n)
		}
	}
}
