package memory

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// Creators on several goroutines at once, in a small store: each round's
// store, folded, restores into a store of the same bounds with every
// tenant's use (TestCreatorsOvershootBound is the deterministic form).
func TestConcurrentCreatorsRestore(t *testing.T) {
	for round := range 200 {
		const maxBytes, goroutines, each = 600, 8, 6
		s := New(WithMaxBytes(maxBytes), WithSlots(12))
		in := make([][each]bool, goroutines)
		var start, wg sync.WaitGroup
		start.Add(1)
		for g := range goroutines {
			wg.Go(func() {
				start.Wait()
				for i := range each {
					in[g][i] = spend(t, s, foldT0, fmt.Sprint("g", g, "-", i), 1).Allowed
				}
			})
		}
		start.Done()
		wg.Wait()
		now := foldT0.Add(time.Second)
		s.Sweep(now)
		var buf strings.Builder
		if err := s.SnapshotAt(now, &buf); err != nil {
			t.Fatal(err)
		}
		dst := New(WithMaxBytes(maxBytes), WithSlots(12))
		if err := dst.RestoreAt(now, strings.NewReader(buf.String()), foldPlans); err != nil {
			t.Fatalf("round %d: %d folded, %d bytes of %d: %v", round, s.Folded(), s.Bytes(), maxBytes, err)
		}
		for g := range goroutines {
			for i, ok := range in[g] {
				want := int64(0)
				if ok {
					want = 1
				}
				if d := dst.Peek(now, fmt.Sprint("g", g, "-", i), 0, foldPlans); d.Used != want {
					t.Fatalf("round %d: g%d-%d (let in: %v): used %d after the restore", round, g, i, ok, d.Used)
				}
			}
		}
	}
}
