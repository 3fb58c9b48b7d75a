package memory

import (
	"testing"
	"time"
	"unsafe"

	"github.com/creditgate/creditgate/store"
)

// An entry of its own finds its slots after it in its allocation (sem); a
// tenant's first application and first class have none (their slots are
// slots0's halves) and share their names' one copy with name0 and cls0.
func TestSemEntrySlots(t *testing.T) {
	e := newSemEntry("crm", 2)
	s := e.sem()
	if s == nil || *e.name != "crm" {
		t.Fatalf("own entry: slots %p, name %q", s, *e.name)
	}
	if p, lo := uintptr(unsafe.Pointer(s)), uintptr(unsafe.Pointer(e)); p <= lo || p >= lo+unsafe.Sizeof(ownEntry{}) {
		t.Fatalf("own entry's slots at %#x, not in its allocation at %#x", p, lo)
	}
	if !s.TryAcquire(2) || s.TryAcquire(1) {
		t.Fatalf("own entry's slots not at its capacity 2 (held %d)", s.Held())
	}
	m := New()
	var l Lease
	var d store.Decision
	m.Take(time.Unix(1e9, 0), &store.Request{Tenant: "t", App: "a", Class: "bulk", Credits: 1}, foldPlans, &l, &d)
	if !d.Allowed {
		t.Fatalf("take refused: %v", d.Reason)
	}
	tn := l.t
	m.Release(&l)
	if tn.first.sem() != nil || tn.cls0e.sem() != nil {
		t.Fatalf("first's or cls0e's entry has slots of its own")
	}
	if tn.first.name != tn.name0 || tn.cls0e.name != tn.cls0 || *tn.first.name != "a" || *tn.cls0e.name != "bulk" {
		t.Fatalf("first's and cls0e's names %q, %q: not name0's and cls0's", *tn.first.name, *tn.cls0e.name)
	}
}
