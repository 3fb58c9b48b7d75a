package memory

import (
	"testing"
	"unsafe"
)

// tenantCost counts a tenant's object as unsafe.Sizeof(tenant{}), and a
// withCache's as that plus withCacheExtra (1024-320): both count the size
// classes the objects are allocated in only if a tenant is exactly 320
// bytes. Smaller, each tenant counts less than it holds against WithMaxBytes.
func TestTenantCostCountsSizeClass(t *testing.T) {
	if sz := unsafe.Sizeof(tenant{}); sz != 320 {
		t.Errorf("tenant is %d bytes: tenantCost counts %d of its 320-byte object", sz, sz)
	}
	if sz := unsafe.Sizeof(withCache{}); sz > 1024 || unsafe.Sizeof(tenant{})+withCacheExtra != 1024 {
		t.Errorf("withCache is %d bytes: tenantCost counts %d of its 1,024-byte object", sz, unsafe.Sizeof(tenant{})+withCacheExtra)
	}
}
