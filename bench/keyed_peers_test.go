package bench

import (
	"context"
	"sync/atomic"
	"testing"

	sethvargo "github.com/sethvargo/go-limiter"
	"github.com/sethvargo/go-limiter/memorystore"
	ulule "github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
)

// Peers of the keyed rows. Both read the clock themselves on every call, so
// ours reads it too in these rows (time.Now per call).

// newSethvargo returns sethvargo/go-limiter's memorystore with bigLimit tokens
// per period. The interval must be long: with a huge token count and a short
// interval its refill rounds to zero and it refuses after one interval.
func newSethvargo(tb testing.TB) sethvargo.Store {
	s, err := memorystore.New(&memorystore.Config{Tokens: bigLimit, Interval: period})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close(context.Background()) }) // stops its sweeper
	return s
}

// newUlule returns ulule/limiter's memory store (default options) with a
// fixed window of bigLimit per period.
func newUlule() *ulule.Limiter {
	return ulule.New(memory.NewStore(), ulule.Rate{Period: period, Limit: bigLimit})
}

// keyedBench runs take over n keys round-robin, after one warm-up pass that
// creates every key, so the timed loop measures decisions, not insertions.
func keyedBench(b *testing.B, n int, take func(ctx context.Context, key string) bool) {
	ks := keySet(n)
	ctx := context.Background()
	for _, k := range ks {
		if !take(ctx, k) {
			b.Fatalf("warm-up call for %q refused", k)
		}
	}
	var refused atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := goroutineOffset() % n
		for pb.Next() {
			if !take(ctx, ks[i]) {
				refused.Add(1)
			}
			if i++; i == n {
				i = 0
			}
		}
	})
	checkRefused(b, &refused)
}

func init() {
	for _, n := range keyCounts {
		register(keyedRow(n), impl{
			name: "sethvargo",
			probe: func(tb testing.TB) func(int) error {
				s, ks := newSethvargo(tb), keySet(n)
				return func(i int) error {
					_, _, _, ok, err := s.Take(context.Background(), ks[i%n])
					if err != nil {
						return err
					}
					if !ok {
						return errRefused
					}
					return nil
				}
			},
			run: func(b *testing.B) {
				s := newSethvargo(b)
				keyedBench(b, n, func(ctx context.Context, key string) bool {
					_, _, _, ok, err := s.Take(ctx, key)
					return ok && err == nil
				})
			},
		})
		register(keyedRow(n), impl{
			name: "ulule",
			probe: func(tb testing.TB) func(int) error {
				l, ks := newUlule(), keySet(n)
				return func(i int) error {
					c, err := l.Get(context.Background(), ks[i%n])
					if err != nil {
						return err
					}
					if c.Reached {
						return errRefused
					}
					return nil
				}
			},
			run: func(b *testing.B) {
				l := newUlule()
				keyedBench(b, n, func(ctx context.Context, key string) bool {
					c, err := l.Get(ctx, key)
					return err == nil && !c.Reached
				})
			},
		})
	}
}
