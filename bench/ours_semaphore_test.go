package bench

import (
	"sync/atomic"
	"testing"

	"github.com/creditgate/creditgate/semaphore"
)

// Ours in the slot row: the same capacity and calls as x/sync/semaphore.
func init() {
	register("Slot", impl{
		name: ours,
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
