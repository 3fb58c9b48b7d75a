package bench

import (
	"sync/atomic"
	"testing"

	"github.com/creditgate/creditgate/window"
)

// Ours in the pool rows: a rolling window of bigLimit credits per period at
// default settings (window.DefaultSlots), at the same frozen now as x/time/rate.

func newRolling(tb testing.TB) *window.Rolling {
	r, err := window.NewRolling(bigLimit, period)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// rollingErr turns a TryAcquireAt result into a probe error.
func rollingErr(ok bool, err error) error {
	switch {
	case err != nil:
		return err
	case !ok:
		return errRefused
	}
	return nil
}

func init() {
	register("PoolAcquire", impl{
		name: ours,
		probe: func(tb testing.TB) func(int) error {
			r := newRolling(tb)
			return func(int) error { return rollingErr(r.TryAcquireAt(t0, 1)) }
		},
		run: func(b *testing.B) {
			r := newRolling(b)
			var refused atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				now := t0
				for pb.Next() {
					if ok, err := r.TryAcquireAt(now, 1); !ok || err != nil {
						refused.Add(1)
					}
				}
			})
			checkRefused(b, &refused)
		},
	})
	register("WeightedAcquire", impl{
		name: ours,
		probe: func(tb testing.TB) func(int) error {
			r := newRolling(tb)
			return func(i int) error { return rollingErr(r.TryAcquireAt(t0, costs[i&costMask])) }
		},
		run: func(b *testing.B) {
			r := newRolling(b)
			var refused atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				now, i := t0, goroutineOffset()
				for pb.Next() {
					if ok, err := r.TryAcquireAt(now, costs[i&costMask]); !ok || err != nil {
						refused.Add(1)
					}
					i++
				}
			})
			checkRefused(b, &refused)
		},
	})
	// One rolling window per key in a map, as x/time/rate's row keeps one
	// rate.Limiter per key.
	registerMemory("window", ours, func(tb testing.TB, keys []string) built {
		m := make(map[string]*window.Rolling)
		for _, k := range keys {
			r := newRolling(tb)
			if err := rollingErr(r.TryAcquireAt(t0, 1)); err != nil {
				tb.Fatalf("window refused key %q: %v", k, err)
			}
			m[k] = r
		}
		return built{keep: m}
	})
}
