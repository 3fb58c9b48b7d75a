package memory

import (
	"fmt"
	"strings"
	"testing"

	"github.com/creditgate/creditgate/store"
)

// TestLeaseKeysDifferingInLength (held on be01768): one lease moves between
// keys that share their bytes and differ in length (a NUL more, the
// tenant's first bytes, 7/8, 23/24, 24/25 and longer), in stores with and
// without a slot cache (cachedBit in klen): each admission is counted in
// its own key's tenant, through the lease check and the table's get alike.
func TestLeaseKeysDifferingInLength(t *testing.T) {
	base := strings.Repeat("\x00", 40)
	var keys []string
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 23, 24, 25, 32, 40} {
		keys = append(keys, base[:n])
	}
	text := "tenant-0123456789abcdefghijklmnop"
	for _, n := range []int{7, 8, 16, 23, 24, 25, 33} {
		keys = append(keys, text[:n], text[:n]+"\x00")
	}
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprint("cache=", cached), func(t *testing.T) {
			var opts []Option
			if cached {
				opts = append(opts, WithSlotCache())
			}
			s := New(opts...)
			var l Lease
			want := map[string]int64{}
			for round := range 3 {
				for i, k := range keys {
					n := int64(1 + (i+round)%3)
					var d store.Decision
					s.Take(foldT0, &store.Request{Tenant: k, App: "x", Credits: n}, foldPlans, &l, &d)
					if !d.Allowed {
						t.Fatalf("%q refused: %+v", k, d)
					}
					s.Release(&l)
					want[k] += n
					if d.Used != want[k] {
						t.Fatalf("round %d: %q used %d, want %d (counted in another key's tenant)", round, k, d.Used, want[k])
					}
				}
			}
			if s.Len() != len(want) {
				t.Fatalf("%d tenants for %d keys", s.Len(), len(want))
			}
			for k, n := range want {
				if got := s.Peek(foldT0, k, 0, foldPlans).Used; got != n {
					t.Fatalf("%q: Peek used %d, want %d", k, got, n)
				}
			}
		})
	}
}
