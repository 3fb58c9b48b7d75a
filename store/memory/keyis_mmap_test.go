//go:build linux

package memory

import (
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/creditgate/creditgate/store"
)

// guardedPage maps three pages, the first and last inaccessible, and returns
// the middle one: a load before its first byte or past its last faults.
func guardedPage(t *testing.T) []byte {
	t.Helper()
	ps := syscall.Getpagesize()
	m, err := syscall.Mmap(-1, 0, 3*ps, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	t.Cleanup(func() { syscall.Munmap(m) })
	if err := syscall.Mprotect(m[:ps], syscall.PROT_NONE); err != nil {
		t.Skipf("mprotect: %v", err)
	}
	if err := syscall.Mprotect(m[2*ps:], syscall.PROT_NONE); err != nil {
		t.Skipf("mprotect: %v", err)
	}
	return m[ps : 2*ps : 2*ps]
}

// TestKeyIsAtMappedPageEdge: keys of 1 to 40 bytes that end on the last
// byte of a readable page (the next page faults) or start on its first (the
// page before faults) are compared by keyIs/hasKey with no load outside
// them, and a store finds their tenants through the table's get and the
// lease check: a load past either end would kill the test with SIGSEGV.
func TestKeyIsAtMappedPageEdge(t *testing.T) {
	page := guardedPage(t)
	s := New(WithSlotCache())
	at := foldT0
	for n := 1; n <= 40; n++ {
		want := strings.Repeat("k", n-1) + "z"
		other := strings.Repeat("k", n)
		for _, off := range []int{len(page) - n, 0} {
			b := page[off : off+n]
			copy(b, want)
			key := unsafe.String(&b[0], n)
			checkHasKey(t, want, key)
			checkHasKey(t, other, key)
			checkHasKey(t, key, want)
			// Through the store: a lookup (table get) and then the lease's
			// tenant (keyIs on the lease path), for this key and another.
			var l Lease
			var d store.Decision
			for i := range 2 {
				s.Take(at, &store.Request{Tenant: key, App: "x", Credits: 1}, foldPlans, &l, &d)
				if !d.Allowed {
					t.Fatalf("n=%d off=%d take %d refused: %+v", n, off, i, d)
				}
				s.Release(&l)
			}
			s.Take(at, &store.Request{Tenant: other, App: "x", Credits: 1}, foldPlans, &l, &d)
			s.Release(&l)
		}
		if got := s.Peek(at, want, 0, foldPlans).Remaining; got != 96 {
			t.Fatalf("n=%d: %q has %d left after 4 takes of 1 of 100, want 96", n, want, got)
		}
		if got := s.Peek(at, other, 0, foldPlans).Remaining; got != 98 {
			t.Fatalf("n=%d: %q has %d left after 2 takes of 1, want 98", n, other, got)
		}
		at = at.Add(time.Second)
	}
}

// TestNameIsAtMappedPageEdge: names of 1 to 24 bytes that end on the last
// byte of a readable page or start on its first are compared by nameIs
// with no load outside them, and an admission of such an application and
// class (admit's nameIs on the interned copies) is decided: a load past
// either end would kill the test with SIGSEGV.
func TestNameIsAtMappedPageEdge(t *testing.T) {
	page := guardedPage(t)
	s := New()
	plan := &store.Plan{Name: "p", Window: time.Minute, Credits: 1000, Concurrency: 4,
		SubConcurrency: map[string]int64{"bulk": 4, strings.Repeat("c", 12): 4}}
	plans := func(string) *store.Plan { return plan }
	for n := 1; n <= 24; n++ {
		want := strings.Repeat("n", n-1) + "z"
		for _, off := range []int{len(page) - n, 0} {
			b := page[off : off+n]
			copy(b, want)
			name := unsafe.String(&b[0], n)
			checkNameIs(t, want, name)
			checkNameIs(t, strings.Repeat("n", n), name)
			var l Lease
			var d store.Decision
			for _, class := range []string{"", "bulk", strings.Repeat("c", 12)} {
				s.Take(foldT0, &store.Request{Tenant: "tenant-" + want, App: name, Class: class, Credits: 1}, plans, &l, &d)
				if !d.Allowed {
					t.Fatalf("n=%d off=%d class %q refused: %+v", n, off, class, d)
				}
				s.Release(&l)
			}
		}
	}
}
