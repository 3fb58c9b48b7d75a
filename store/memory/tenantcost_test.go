package memory

import (
	"testing"
	"unsafe"
)

// tenantCost counts a tenant's object as unsafe.Sizeof(tenant{}), and a
// withCache's as that plus withCacheExtra (1024-256: a withCache is 952
// bytes, and with the 8-byte header the allocator puts before an object
// of more than 512 bytes with pointers it takes the 1,024-byte size class):
// both count the size classes the objects are allocated in only if a
// tenant is exactly 256 bytes. Smaller, each tenant counts less than it
// holds against WithMaxBytes.
func TestTenantCostCountsSizeClass(t *testing.T) {
	if sz := unsafe.Sizeof(tenant{}); sz != 256 {
		t.Errorf("tenant is %d bytes: tenantCost counts %d of its 256-byte object", sz, sz)
	}
	if sz := unsafe.Sizeof(withCache{}); sz+8 <= 896 || sz+8 > 1024 || unsafe.Sizeof(tenant{})+withCacheExtra != 1024 {
		t.Errorf("withCache is %d bytes: tenantCost counts %d of its 1,024-byte object", sz, unsafe.Sizeof(tenant{})+withCacheExtra)
	}
}
