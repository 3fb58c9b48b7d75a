package memory

import (
	"testing"
	"unsafe"
)

// A tenant with a slot cache starts on a cache line, as a plain one does:
// its line 0 (what an admission reads) and line 1 (what it writes) are
// each one line (see tenant). A withCache is more than 512 bytes with
// pointers, so the allocator puts an 8-byte header before it, and a
// tenant as its first field started 8 bytes into a line: each of its two
// lines straddled two.
func TestCachedTenantAligned(t *testing.T) {
	for i := range 64 {
		for _, cached := range []bool{false, true} {
			tn := newTenantObject(cached)
			alignSink = append(alignSink, tn) // on the heap, as a store's are
			if p := uintptr(unsafe.Pointer(tn)); p%64 != 0 {
				t.Fatalf("allocation %d (cached %v): tenant at %#x, %d bytes into a cache line", i, cached, p, p%64)
			}
			if cached && tn.cache() == nil {
				t.Fatal("a cached tenant has no slot cache")
			}
		}
	}
}

var alignSink []*tenant
