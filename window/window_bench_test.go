package window

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// The floor: what one shared atomic word costs, single and contended, so the
// window's figures can be read as ratios to it.
func BenchmarkFloorCAS(b *testing.B) {
	var x atomic.Int64
	b.ReportAllocs()
	b.Run("single", func(b *testing.B) {
		for b.Loop() {
			v := x.Load()
			x.CompareAndSwap(v, v+1)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				v := x.Load()
				x.CompareAndSwap(v, v+1)
			}
		})
	})
}

func BenchmarkFloorAdd(b *testing.B) {
	var x atomic.Int64
	b.ReportAllocs()
	b.Run("single", func(b *testing.B) {
		for b.Loop() {
			x.Add(1)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				x.Add(1)
			}
		})
	})
}

// benchWindows are the implementations benchmarked side by side; the limit is
// so large that every call in the admitted benchmarks is admitted.
func benchWindows(b *testing.B, limit int64) map[string]Window {
	b.Helper()
	r, err := NewRolling(limit, 24*time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	f, err := NewFixed(limit, 24*time.Hour, 0, time.UTC)
	if err != nil {
		b.Fatal(err)
	}
	r2, _ := NewRolling(limit, 10*time.Second)
	r3, _ := NewRolling(limit, 24*time.Hour)
	c, err := NewCompound(r2, r3)
	if err != nil {
		b.Fatal(err)
	}
	return map[string]Window{"rolling": r, "fixed": f, "compound": c}
}

func BenchmarkTryAcquireAt(b *testing.B) {
	for _, name := range []string{"rolling", "fixed", "compound"} {
		b.Run(name+"/admitted/single", func(b *testing.B) {
			w := benchWindows(b, MaxLimit)[name]
			now := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				if ok, _ := w.TryAcquireAt(now, 1); !ok {
					b.Fatal("refused in the admitted benchmark")
				}
			}
		})
		b.Run(name+"/admitted/parallel", func(b *testing.B) {
			w := benchWindows(b, MaxLimit)[name]
			now := time.Now()
			var refused atomic.Bool
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if ok, _ := w.TryAcquireAt(now, 1); !ok {
						refused.Store(true)
					}
				}
			})
			if refused.Load() {
				b.Fatal("refused in the admitted benchmark")
			}
		})
		b.Run(name+"/refused/single", func(b *testing.B) {
			w := benchWindows(b, 1)[name]
			now := time.Now()
			w.TryAcquireAt(now, 1)
			b.ReportAllocs()
			for b.Loop() {
				if ok, _ := w.TryAcquireAt(now, 1); ok {
					b.Fatal("admitted in the refused benchmark")
				}
			}
		})
		b.Run(name+"/refused/parallel", func(b *testing.B) {
			w := benchWindows(b, 1)[name]
			now := time.Now()
			w.TryAcquireAt(now, 1)
			var admitted atomic.Bool
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if ok, _ := w.TryAcquireAt(now, 1); ok {
						admitted.Store(true)
					}
				}
			})
			if admitted.Load() {
				b.Fatal("admitted in the refused benchmark")
			}
		})
	}
}

// BenchmarkRollingAdvancing moves the clock 1 µs per call, so slot changes and
// frontier sweeps are part of the cost (a 10 s window of 96 slots).
func BenchmarkRollingAdvancing(b *testing.B) {
	r, _ := NewRolling(MaxLimit, 10*time.Second)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Microsecond)
		r.TryAcquireAt(now, 1)
	}
}

// BenchmarkRollingMemory reports the heap bytes per Rolling at the default
// granularity (24 h, 96 slots), measured over 10,000 instances.
func BenchmarkRollingMemory(b *testing.B) {
	for b.Loop() {
		per := rollingBytes(10_000)
		b.ReportMetric(per, "B/instance")
		if per > 1024 {
			b.Fatalf("%.0f bytes per Rolling, want <= 1024", per)
		}
	}
}

func rollingBytes(count int) float64 {
	keep := make([]*Rolling, count)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range keep {
		keep[i], _ = NewRolling(1000, 24*time.Hour)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(keep)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(count)
}
