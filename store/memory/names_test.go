package memory

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/creditgate/creditgate/store"
)

// Two tenants' entries of one application share one copy of its name, which
// is never the caller's string, and the table of names stays bounded.
func TestAppNamesShared(t *testing.T) {
	s := New()
	now := time.Unix(1e9, 0)
	buf := []byte("xx-crm-sync-xx")
	entry := func(tenant, app string) *semEntry {
		t.Helper()
		var l Lease
		var d store.Decision
		s.Take(now, &store.Request{Tenant: tenant, App: app, Credits: 1}, benchPlans, &l, &d)
		if !d.Allowed {
			t.Fatalf("take of %s/%s refused: %v", tenant, app, d.Reason)
		}
		s.Release(&l)
		return l.t.app0.Load()
	}
	a := entry("t1", string(buf[3:11]))
	b := entry("t2", strings.Clone("crm-sync"))
	if *a.name != "crm-sync" || *b.name != "crm-sync" {
		t.Fatalf("names %q and %q, want crm-sync", *a.name, *b.name)
	}
	if unsafe.StringData(*a.name) != unsafe.StringData(*b.name) {
		t.Errorf("two tenants' entries of one application hold two copies of its name")
	}
	if p := uintptr(unsafe.Pointer(unsafe.StringData(*a.name))); p >= uintptr(unsafe.Pointer(&buf[0])) && p < uintptr(unsafe.Pointer(&buf[0]))+uintptr(len(buf)) {
		t.Errorf("the entry keeps the caller's buffer")
	}
	for i := range maxNames + 10 {
		s.names.of(fmt.Sprintf("app-%d", i))
	}
	if n := s.names.n.Load(); n > maxNames {
		t.Errorf("%d names kept, more than maxNames (%d)", n, maxNames)
	}
	long := strings.Repeat("a", maxNameBytes+1)
	if x, y := s.names.of(long), s.names.of(long); x != long || unsafe.StringData(x) == unsafe.StringData(y) {
		t.Errorf("a name longer than maxNameBytes is kept in the table")
	}
	if x := s.names.of("late-app"); x != "late-app" {
		t.Errorf("a name past the bound comes back as %q", x)
	}
}
