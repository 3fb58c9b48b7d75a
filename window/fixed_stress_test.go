package window

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFixedStress races goroutines across many period boundaries (hourly
// periods, a clock that moves minutes at a time, stale callers): summing the
// admissions by the period each was charged to, no period holds more than L,
// and a period is never charged before the caller's own period.
func TestFixedStress(t *testing.T) {
	const limit = 50
	f, err := NewFixed(limit, time.Hour, 0, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	clock.Store(start.UnixNano())
	var mu sync.Mutex
	perPeriod := map[uint64]int64{}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(11, uint64(g)))
			local := map[uint64]int64{}
			for range 3000 {
				now := clock.Add(rng.Int64N(int64(2 * time.Second)))
				if rng.IntN(4) == 0 {
					now -= rng.Int64N(int64(2 * time.Hour))
				}
				at := time.Unix(0, now)
				n := 1 + rng.Int64N(limit)
				ok, id, err := f.tryAcquireTok(at, n)
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					continue
				}
				if own := f.periodOf(at).id & tagMask; (id-own)&tagMask >= tagHalf {
					t.Errorf("charged to period %d, before the caller's own %d", id, own)
					return
				}
				if rng.IntN(10) == 0 {
					f.refundTok(id, n) // gives back at most n; may find the period gone
					continue
				}
				local[id] += n
			}
			mu.Lock()
			for id, n := range local {
				perPeriod[id] += n
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(perPeriod) < 2 {
		t.Fatalf("only %d periods exercised", len(perPeriod))
	}
	for id, n := range perPeriod {
		if n > limit {
			t.Errorf("period %d admitted %d > %d", id, n, limit)
		}
	}
}
