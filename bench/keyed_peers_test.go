package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	sethvargo "github.com/sethvargo/go-limiter"
	"github.com/sethvargo/go-limiter/memorystore"
	ulule "github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
)

// Peers of the keyed rows. Both read the clock themselves on every call, so
// ours reads it too in these rows (time.Now per call).

// newSethvargoStore returns sethvargo/go-limiter's memorystore with bigLimit
// tokens per period. The interval must be long: with a huge token count and a
// short interval its refill rounds to zero and it refuses after one interval.
// Close stops its sweeper goroutine.
func newSethvargoStore() (sethvargo.Store, error) {
	return memorystore.New(&memorystore.Config{Tokens: bigLimit, Interval: period})
}

// newSethvargo is newSethvargoStore closed at the end of tb.
func newSethvargo(tb testing.TB) sethvargo.Store {
	s, err := newSethvargoStore()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// newUlule returns ulule/limiter's memory store (default options) with a
// fixed window of bigLimit per period.
func newUlule() *ulule.Limiter {
	return ulule.New(memory.NewStore(), ulule.Rate{Period: period, Limit: bigLimit})
}

// takeFunc is one keyed decision; true = admitted.
type takeFunc func(ctx context.Context, key string) bool

// warm caches the keyed instances, built and warmed once per process (until
// dropWarm).
var warm struct {
	sync.Mutex
	m       map[string]takeFunc // by impl name and key count
	closers []func()
}

// dropWarm closes and forgets the keyed instances and collects their heap,
// so that the rows after the keyed ones do not run beside some hundreds of
// megabytes of live keys, which every allocating implementation would pay
// for in garbage collection.
func dropWarm() {
	warm.Lock()
	for _, f := range warm.closers {
		f()
	}
	warm.m, warm.closers = nil, nil
	warm.Unlock()
	runtime.GC()
}

// warmTake returns an instance of impl over n keys on which every key has
// already been taken once, so that the timed loop measures decisions, not
// insertions. It is built once per process and reused by every invocation of
// the benchmark (the framework calls a benchmark several times while it sizes
// b.N, and again for each -cpu), because building 100,000 keys can take
// seconds; the reuse spends a few 10^8 of the 2^40 credits at most. close, if
// not nil, runs at the end of the process.
func warmTake(b *testing.B, impl string, n int, build func() (take takeFunc, close func(), err error)) takeFunc {
	warm.Lock()
	defer warm.Unlock()
	id := fmt.Sprintf("%s/%d", impl, n)
	if t, ok := warm.m[id]; ok {
		return t
	}
	take, closeFn, err := build()
	if err != nil {
		b.Fatal(err)
	}
	if closeFn != nil {
		warm.closers = append(warm.closers, closeFn)
	}
	ctx := context.Background()
	for _, k := range keySet(n) {
		if !take(ctx, k) {
			b.Fatalf("warm-up call for %q refused", k)
		}
	}
	if warm.m == nil {
		warm.m = map[string]takeFunc{}
	}
	warm.m[id] = take
	return take
}

// keyedBench runs take over n keys round-robin.
func keyedBench(b *testing.B, n int, take takeFunc) {
	ks := keySet(n)
	ctx := context.Background()
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
		registerKeyedPeers(keyedRow(n), n)
		registerKeyedPeers(keyedFullRow(n), n) // the same peers: they have nothing more to do
	}
}

// registerKeyedPeers registers the peers of a keyed row over n keys.
func registerKeyedPeers(row string, n int) {
	{
		register(row, impl{
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
				keyedBench(b, n, warmTake(b, "sethvargo", n, func() (takeFunc, func(), error) {
					s, err := newSethvargoStore()
					if err != nil {
						return nil, nil, err
					}
					return func(ctx context.Context, key string) bool {
						_, _, _, ok, err := s.Take(ctx, key)
						return ok && err == nil
					}, func() { _ = s.Close(context.Background()) }, nil
				}))
			},
		})
		register(row, impl{
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
				keyedBench(b, n, warmTake(b, "ulule", n, func() (takeFunc, func(), error) {
					l := newUlule()
					return func(ctx context.Context, key string) bool {
						c, err := l.Get(ctx, key)
						return err == nil && !c.Reached
					}, nil, nil
				}))
			},
		})
	}
}
