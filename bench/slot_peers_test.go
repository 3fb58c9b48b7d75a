package bench

import (
	"sync/atomic"
	"testing"

	"golang.org/x/sync/semaphore"
)

// slotCapacity is every semaphore's capacity: more than the goroutines of any
// run can hold at once, so TryAcquire always succeeds.
const slotCapacity = 1 << 20

func init() {
	register("Slot", impl{
		name: "xsyncsemaphore",
		probe: func(testing.TB) func(int) error {
			s := semaphore.NewWeighted(slotCapacity)
			return func(int) error {
				if !s.TryAcquire(1) {
					return errRefused
				}
				s.Release(1)
				return nil
			}
		},
		run: func(b *testing.B) {
			s := semaphore.NewWeighted(slotCapacity)
			var refused atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if !s.TryAcquire(1) {
						refused.Add(1)
						continue
					}
					s.Release(1)
				}
			})
			checkRefused(b, &refused)
		},
	})
}
