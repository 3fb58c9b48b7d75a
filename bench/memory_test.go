package bench

import (
	"context"
	"runtime"
	"testing"

	"golang.org/x/time/rate"
)

// Memory per key at default settings: each op builds a fresh instance holding
// manyKeys keys (each key admitted once), and the heap growth it leaves behind
// after a GC, divided by manyKeys, is reported as B/key. The key strings are
// built beforehand and shared, so a key's own bytes count only when an
// implementation copies it (ulule prefixes every key, so it does).
//
// Rows: kind=window compares one bare pool per key (ours: window.Rolling in a
// map); kind=tenant compares keyed stores (ours: limiter tenants).
func BenchmarkMemoryPerKey(b *testing.B) {
	for _, kind := range []string{"window", "tenant"} {
		b.Run("kind="+kind, func(b *testing.B) { runRow(b, "Memory/"+kind) })
	}
}

// built is what a memory build leaves alive, and how to dispose of it after
// the measurement.
type built struct {
	keep  any
	close func()
}

// memBench measures build over manyKeys keys, once per op.
func memBench(b *testing.B, build func(tb testing.TB, keys []string) built) {
	ks := manyKeyStrings()
	b.ReportAllocs()
	var grown float64
	for range b.N {
		b.StopTimer()
		before := heapAfterGC()
		b.StartTimer()
		x := build(b, ks)
		b.StopTimer()
		after := heapAfterGC()
		runtime.KeepAlive(x.keep)
		if x.close != nil {
			x.close()
		}
		grown += float64(after) - float64(before)
		b.StartTimer()
	}
	b.ReportMetric(grown/float64(b.N)/float64(len(ks)), "B/key")
}

func heapAfterGC() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC() // a second cycle frees what the first one's finalizers released
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// registerMemory adds an implementation to a memory row; the build must admit
// one call per key or fail tb.
func registerMemory(kind, name string, build func(tb testing.TB, keys []string) built) {
	register("Memory/"+kind, impl{
		name: name,
		run:  func(b *testing.B) { memBench(b, build) },
		probe: func(tb testing.TB) func(int) error {
			x := build(tb, keySet(100))
			if x.close != nil {
				tb.Cleanup(x.close)
			}
			return func(int) error { return nil } // build already checked every key
		},
	})
}

func init() {
	registerMemory("window", "xtimerate", func(tb testing.TB, keys []string) built {
		m := make(map[string]*rate.Limiter)
		for _, k := range keys {
			l := newXRate()
			if !l.AllowN(t0, 1) {
				tb.Fatalf("xtimerate refused key %q", k)
			}
			m[k] = l
		}
		return built{keep: m}
	})
	registerMemory("window", "throttled", func(tb testing.TB, keys []string) built {
		l := newThrottled()
		ctx := context.Background()
		for _, k := range keys {
			limited, _, err := l.RateLimitCtx(ctx, k, 1)
			if err := throttledErr(limited, err); err != nil {
				tb.Fatalf("throttled key %q: %v", k, err)
			}
		}
		return built{keep: l}
	})
	registerMemory("tenant", "sethvargo", func(tb testing.TB, keys []string) built {
		s := newSethvargo(tb)
		ctx := context.Background()
		for _, k := range keys {
			if _, _, _, ok, err := s.Take(ctx, k); !ok || err != nil {
				tb.Fatalf("sethvargo refused key %q: %v", k, err)
			}
		}
		return built{keep: s, close: func() { _ = s.Close(context.Background()) }}
	})
	registerMemory("tenant", "ulule", func(tb testing.TB, keys []string) built {
		l := newUlule()
		ctx := context.Background()
		for _, k := range keys {
			if c, err := l.Get(ctx, k); err != nil || c.Reached {
				tb.Fatalf("ulule refused key %q: %v", k, err)
			}
		}
		return built{keep: l}
	})
}
