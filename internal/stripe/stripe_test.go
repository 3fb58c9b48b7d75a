package stripe

import (
	"sync"
	"testing"
)

// Goroutines spread over the stripes, and every index is in range.
func TestIndexSpreads(t *testing.T) {
	const g = 64
	seen := make(map[int]bool)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range g {
		wg.Go(func() {
			i := Index()
			mu.Lock()
			seen[i] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	for i := range seen {
		if i < 0 || i >= Count {
			t.Fatalf("Index() = %d, out of 0..%d", i, Count-1)
		}
	}
	if len(seen) < 4 {
		t.Fatalf("%d goroutines used %d of %d stripes", g, len(seen), Count)
	}
}
