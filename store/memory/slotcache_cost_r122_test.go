package memory

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// WithSlotCache's doc (and README's, and PairCache's)
// says the cache "costs 768 bytes a tenant (counted against
// WithMaxBytes)": a tenant of a store WithSlotCache counts 768 bytes more
// in Bytes than the same tenant of a store without.
func TestSlotCacheCostAsDocumentedR122(t *testing.T) {
	cost := func(opts ...Option) int64 {
		s := New(opts...)
		var l Lease
		var d store.Decision
		s.Take(time.Unix(1e9, 0), &store.Request{Tenant: "t", App: "a", Credits: 1}, foldPlans, &l, &d)
		if !d.Allowed {
			t.Fatalf("take refused: %v", d.Reason)
		}
		s.Release(&l)
		return s.Bytes()
	}
	if extra := cost(WithSlotCache()) - cost(); extra != 768 {
		t.Fatalf("a tenant with a slot cache counts %d bytes more against WithMaxBytes; WithSlotCache documents it", extra)
	}
}
