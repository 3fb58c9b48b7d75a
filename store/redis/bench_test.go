package redis

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	goredis "github.com/redis/go-redis/v9"

	"github.com/creditgate/creditgate/store"
)

// Benchmarks against the shared local redis-server: a decision (Take and
// its Release) beside redis_rate's Allow (GCRA, one script, no leases) on
// the same server. rt/decision is round trips per decision (the Take, as
// Stats counts them); rt/call adds the Release's; p50-us and p99-us are a
// decision's latency.

func benchClient(b *testing.B) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: shared.addr(), PoolSize: 32, ContextTimeoutEnabled: true})
	b.Cleanup(func() { c.Close() })
	return c
}

// lat collects per-operation latencies from any goroutine.
type lat struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *lat) add(d []time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, d...)
	l.mu.Unlock()
}

func (l *lat) report(b *testing.B) {
	if len(l.all) == 0 {
		return
	}
	slices.Sort(l.all)
	b.ReportMetric(float64(l.all[len(l.all)/2].Microseconds()), "p50-us")
	b.ReportMetric(float64(l.all[len(l.all)*99/100].Microseconds()), "p99-us")
}

func BenchmarkDecision(b *testing.B) {
	p := store.Plan{Credits: 1 << 40, Window: time.Hour, Concurrency: 1 << 20,
		SubConcurrency: map[string]int64{"bulk": 1 << 20}}
	pf := func(string) *store.Plan { return &p }
	for _, bc := range []struct {
		name string
		opts []Option
	}{{"ours", nil}, {"ours-leasing", []Option{WithCreditLeasing(256)}}} {
		for _, par := range []bool{false, true} {
			name := bc.name
			if par {
				name += "-parallel"
			}
			b.Run(name, func(b *testing.B) {
				s := newStore(b, benchClient(b), bc.opts...)
				req := store.Request{Tenant: "bench", App: "a", Class: "bulk", Credits: 1}
				one := func(r *store.Request) {
					var l Lease
					var d store.Decision
					s.Take(time.Now(), r, pf, &l, &d)
					if !d.Allowed {
						b.Fatalf("refused: %+v", d)
					}
					s.Release(&l)
				}
				runBench(b, par, func() { r := req; one(&r) })
				st := s.Stats()
				b.ReportMetric(float64(st.RoundTrips)/float64(b.N), "rt/call")
			})
		}
	}
	for _, par := range []bool{false, true} {
		name := "redis_rate"
		if par {
			name += "-parallel"
		}
		b.Run(name, func(b *testing.B) {
			rl := redis_rate.NewLimiter(benchClient(b))
			lim := redis_rate.PerSecond(1 << 30)
			ctx := context.Background()
			runBench(b, par, func() {
				if r, err := rl.Allow(ctx, "bench:"+b.Name(), lim); err != nil || r.Allowed == 0 {
					b.Fatal(r, err)
				}
			})
			b.ReportMetric(1, "rt/call")
		})
	}
}

// runBench runs op b.N times, on one goroutine or in parallel (8 per
// GOMAXPROCS: a server's worth of concurrent callers), and reports the
// latency percentiles.
func runBench(b *testing.B, par bool, op func()) {
	var l lat
	b.ReportAllocs()
	b.ResetTimer()
	if !par {
		ds := make([]time.Duration, 0, b.N)
		for range b.N {
			t := time.Now()
			op()
			ds = append(ds, time.Since(t))
		}
		l.add(ds)
	} else {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			var ds []time.Duration
			for pb.Next() {
				t := time.Now()
				op()
				ds = append(ds, time.Since(t))
			}
			l.add(ds)
		})
	}
	b.StopTimer()
	l.report(b)
}
