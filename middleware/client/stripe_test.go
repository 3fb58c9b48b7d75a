package client

import (
	"sync"
	"testing"
	"unsafe"
)

// A striped counter counts every add, from any number of goroutines, and
// spreads goroutines over its stripes.
func TestStriped(t *testing.T) {
	var c striped
	const g, n = 64, 1000
	seen := make(map[int]bool)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range g {
		wg.Go(func() {
			mu.Lock()
			seen[stripe()] = true
			mu.Unlock()
			for range n {
				c.Add(3)
				c.Add(-1)
			}
		})
	}
	wg.Wait()
	if got := c.Load(); got != g*n*2 {
		t.Fatalf("Load = %d, want %d", got, g*n*2)
	}
	if len(seen) < 4 {
		t.Fatalf("%d goroutines used %d of %d stripes", g, len(seen), len(c.s))
	}
	c.Store(7)
	if got := c.Load(); got != 7 {
		t.Fatalf("after Store(7), Load = %d", got)
	}
	// Each stripe's word is alone on its cache line, wherever the counter
	// starts: 64 bytes from the start and from each other.
	for i := range c.s {
		off := unsafe.Offsetof(c.s) + uintptr(i)*unsafe.Sizeof(c.s[0])
		if off < 64 || unsafe.Sizeof(c)-off-8 < 56 {
			t.Fatalf("stripe %d at %d of %d bytes: not padded on both sides", i, off, unsafe.Sizeof(c))
		}
	}
}
