package bench

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/throttled/throttled/v2"
	"github.com/throttled/throttled/v2/store/memstore"
	"go.uber.org/ratelimit"
	"golang.org/x/time/rate"
)

// Peers of the pool rows. None of them reads the clock during the loop: x/time/rate
// takes now as an argument like ours, and uber/throttled get a frozen clock, so
// the rows compare accounting, not time.Now.

// newXRate returns an x/time/rate limiter with a burst of bigLimit refilling
// bigLimit per period: at a frozen now it admits bigLimit credits.
func newXRate() *rate.Limiter {
	return rate.NewLimiter(rate.Limit(float64(bigLimit)/period.Seconds()), bigLimit)
}

// frozenClock is a ratelimit.Clock whose Sleep never sleeps but counts: a
// Take that would have slept is a refusal in these rows.
type frozenClock struct {
	now    atomic.Int64 // unix nanoseconds
	sleeps atomic.Int64
}

func (c *frozenClock) Now() time.Time        { return time.Unix(0, c.now.Load()) }
func (c *frozenClock) Sleep(d time.Duration) { c.sleeps.Add(1) }

// newUber returns go.uber.org/ratelimit's default (atomic int64) limiter at
// 10^9 per second (1 ns per call) on a frozen clock. Take never refuses, it
// sleeps; so the first Take is made an hour before the frozen instant and the
// slack is two hours: every later Take finds its permission an hour in the
// past and returns without sleeping (3.6*10^12 calls of headroom). Any Sleep
// is counted and fails the benchmark.
func newUber() (ratelimit.Limiter, *frozenClock) {
	c := &frozenClock{}
	c.now.Store(t0.Add(-time.Hour).UnixNano())
	l := ratelimit.New(1e9, ratelimit.WithClock(c), ratelimit.WithSlack(int(2*time.Hour)))
	l.Take()
	c.now.Store(t0.UnixNano())
	return l, c
}

// newThrottled returns throttled/v2's GCRA limiter over its plain map memstore
// (maxKeys 0) on a frozen clock, with a burst of bigLimit at 1 ns emission
// interval: at a frozen now it admits bigLimit calls.
func newThrottled() *throttled.GCRARateLimiterCtx {
	st, err := memstore.New(0)
	if err != nil {
		panic(err)
	}
	st.SetTimeNow(func() time.Time { return t0 })
	l, err := throttled.NewGCRARateLimiterCtx(throttled.WrapStoreWithContext(st),
		throttled.RateQuota{MaxRate: throttled.PerSec(1e9), MaxBurst: bigLimit})
	if err != nil {
		panic(err)
	}
	return l
}

// throttledErr classifies a throttled call: nil, errRefused, or errTolerated
// for its CAS exhaustion under contention (the store's CompareAndSwap lost
// maxCASAttempts times in a row), which is not a refusal.
func throttledErr(limited bool, err error) error {
	switch {
	case err != nil && strings.Contains(err.Error(), "Failed to store updated rate limit data"):
		return fmt.Errorf("%w: %v", errTolerated, err)
	case err != nil:
		return err
	case limited:
		return errRefused
	}
	return nil
}

func init() {
	register("PoolAcquire", impl{
		name: "xtimerate",
		probe: func(testing.TB) func(int) error {
			l := newXRate()
			return func(int) error {
				if !l.AllowN(t0, 1) {
					return errRefused
				}
				return nil
			}
		},
		run: func(b *testing.B) {
			l := newXRate()
			var refused atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				now := t0
				for pb.Next() {
					if !l.AllowN(now, 1) {
						refused.Add(1)
					}
				}
			})
			checkRefused(b, &refused)
		},
	})
	register("PoolAcquire", impl{
		name: "uberratelimit",
		probe: func(testing.TB) func(int) error {
			l, c := newUber()
			return func(int) error {
				before := c.sleeps.Load()
				l.Take()
				if c.sleeps.Load() != before {
					return errRefused
				}
				return nil
			}
		},
		run: func(b *testing.B) {
			l, c := newUber()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					l.Take()
				}
			})
			checkRefused(b, &c.sleeps)
		},
	})
	register("PoolAcquire", impl{
		name: "throttled",
		probe: func(testing.TB) func(int) error {
			l := newThrottled()
			ctx := context.Background()
			return func(int) error {
				limited, _, err := l.RateLimitCtx(ctx, "k", 1)
				return throttledErr(limited, err)
			}
		},
		run: func(b *testing.B) {
			l := newThrottled()
			var refused, casErrs atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					limited, _, err := l.RateLimitCtx(ctx, "k", 1)
					switch {
					case err != nil:
						casErrs.Add(1) // the plain memstore fails only this way
					case limited:
						refused.Add(1)
					}
				}
			})
			// CAS exhaustion is not a refusal: count it and show it beside the figure.
			b.ReportMetric(float64(casErrs.Load())/float64(b.N), "caserr/op")
			checkRefused(b, &refused)
		},
	})

	register("WeightedAcquire", impl{
		name: "xtimerate",
		probe: func(testing.TB) func(int) error {
			l := newXRate()
			return func(i int) error {
				if !l.AllowN(t0, int(costs[i&costMask])) {
					return errRefused
				}
				return nil
			}
		},
		run: func(b *testing.B) {
			l := newXRate()
			var refused atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				now, i := t0, goroutineOffset()
				for pb.Next() {
					if !l.AllowN(now, int(costs[i&costMask])) {
						refused.Add(1)
					}
					i++
				}
			})
			checkRefused(b, &refused)
		},
	})

	// The floor: one atomic add, and one load+CAS, on a single shared word.
	// Nothing that counts credits in shared memory can be faster.
	register("Floor", impl{
		name: "atomicadd",
		run: func(b *testing.B) {
			var w atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w.Add(1)
				}
			})
		},
	})
	register("Floor", impl{
		name: "atomiccas",
		run: func(b *testing.B) {
			var w atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					for {
						v := w.Load()
						if w.CompareAndSwap(v, v+1) {
							break
						}
					}
				}
			})
		},
	})
}
