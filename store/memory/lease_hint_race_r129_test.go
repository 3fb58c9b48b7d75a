package memory

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// TestR129ReusedLeasesRace: goroutines, each reusing one lease for calls
// that go round few keys (so seek flips on every call), against a sweeper
// that folds every tenant with nothing held (a new *tenant for the same key
// each time it comes back). No cap may be passed, nothing may be held at
// the end, and every credit admitted must be counted spent.
func TestR129ReusedLeasesRace(t *testing.T) {
	keys := []string{"tenant-one", "tenant-two", "t3", "", "a-key-of-thirty-bytes-long-xyz"}
	plan := &store.Plan{Name: "p", Credits: 1 << 40, Window: time.Hour, Concurrency: 2,
		SubConcurrency: map[string]int64{"bulk": 1}}
	plans := func(string) *store.Plan { return plan }
	for _, opts := range [][]Option{nil, {WithSlotCache()}} {
		s := New(opts...)
		now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
		var inApp, inBulk [5]atomic.Int64
		var spent [5]atomic.Int64
		var over atomic.Int64
		stop := make(chan struct{})
		var sw sync.WaitGroup
		sw.Add(1)
		go func() {
			defer sw.Done()
			for {
				select {
				case <-stop:
					return
				default:
					s.Sweep(now)
				}
			}
		}()
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var l Lease
				for i := range 3000 {
					k := (g + i*(1+g%3)) % len(keys)
					req := &store.Request{Tenant: keys[k], App: "x", Credits: int64(1 + i%3)}
					if i%4 == 0 {
						req.Class = "bulk"
					}
					var d store.Decision
					s.Take(now, req, plans, &l, &d)
					if !d.Allowed {
						continue
					}
					spent[k].Add(d.Cost)
					if inApp[k].Add(1) > 2 {
						over.Add(1)
					}
					if req.Class != "" && inBulk[k].Add(1) > 1 {
						over.Add(1)
					}
					inApp[k].Add(-1)
					if req.Class != "" {
						inBulk[k].Add(-1)
					}
					s.Release(&l)
				}
			}()
		}
		wg.Wait()
		close(stop)
		sw.Wait()
		if n := over.Load(); n != 0 {
			t.Errorf("opts %d: a cap was passed %d times", len(opts), n)
		}
		for k, key := range keys {
			if h := s.Held(key); h != 0 {
				t.Errorf("opts %d: %q holds %d slots after every release", len(opts), key, h)
			}
			if got, want := s.Peek(now, key, 0, plans).Used, spent[k].Load(); got != want {
				t.Errorf("opts %d: %q has %d spent, admissions took %d", len(opts), key, got, want)
			}
		}
	}
}
