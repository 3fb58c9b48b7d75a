package memory

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// TestWideRingCounted_r110: a tenant whose pool records more credits in
// one slot than a 32-bit ring word holds (2^23-1 at the default 96 slots)
// makes its window allocate the ring's 64-bit words (window c107), which
// tenantCost does not count. WithMaxBytes "bounds the memory the store
// holds for its tenants": the heap such tenants take must not exceed what
// the store counts against it by more than a quarter (TestLazyRing's
// check, for tenants that spend big; the quarter leaves room for the size
// classes the estimate rounds down: with 1,000 credits instead of 9 Mi, no
// wide ring, the heap is about 750 B per tenant and 716 B are counted).
// Fails on main: about 1,515 B per tenant on the heap, 716 counted.
func TestWideRingCounted_r110(t *testing.T) {
	const n = 5_000
	p := store.Plan{Name: "big", Credits: 1 << 30, Window: 24 * time.Hour, Concurrency: 2}
	plans := func(string) *store.Plan { return &p }
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := New()
	for i := range n {
		key := fmt.Sprintf("tenant-%06d", i)
		for j, c := range []int64{9 << 20, 1} { // 9 Mi credits, then a roll records them
			if d := s.Charge(t0.Add(time.Duration(j)*20*time.Minute), key, c, plans); !d.Allowed || d.Cost != c {
				t.Fatalf("charge %d of %s: %+v", j, key, d)
			}
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("per tenant: %.0f B on the heap, %d B counted", heap, s.Bytes()/n)
	if float64(s.Bytes()/n)*1.25 < heap {
		t.Fatalf("counted %d B per tenant against WithMaxBytes, the heap holds %.0f B: more than a quarter over", s.Bytes()/n, heap)
	}
	runtime.KeepAlive(s)
}
