package usage

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// flood records n calls in each of hours hours of one tenant, the worst
// case for memory: every key MaxKeyBytes long; IPs, modules and methods
// never seen before; applications and users from sets larger than the
// breakdowns' cap of keys (so that every breakdown fills every row to its
// cap of inner keys); each call heavier than the one before, so that every
// new key evicts the lightest at every cap.
func flood(u *Stats, hours, n int) {
	pad := strings.Repeat("x", MaxKeyBytes-12)
	for h := range hours {
		at := t0.Add(time.Duration(h) * time.Hour)
		for i := range n {
			k := fmt.Sprintf("%s%06d%02d", pad, i, h)
			app, user := fmt.Sprintf("%s%06d", pad+"a", i%25), fmt.Sprintf("%s%06d", pad+"u", (i/3)%25)
			record(u, at, "o", app, "m"+k, "i"+k, user, "M"+k, int64(i+1), false)
		}
		u.Tenants() // aggregate now: the batches are not part of the statistics' size
	}
}

// heapAfter returns the live heap after f, less before it.
func heapAfter(f func()) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc)
}

// Under a cardinality flood the breakdowns stay within their caps in
// bytes: at the default caps (100 keys per dimension, breakdowns of 20
// keys by 10) a tenant-hour holds at most 5·101 dimension counts and
// 6·21·11 breakdown counts, and keys are at most MaxKeyBytes, shared
// between a dimension and a breakdown where both keep one. The figures
// are logged (go test -v -run Flood ./usage/); the test fails if the
// breakdowns take more than 400 KiB per tenant-hour, or if an hour more
// of the flood grows them by more than one hour's worth.
func TestBreakdownMemoryFlood(t *testing.T) {
	const hours, perHour = 3, 5_000
	measure := func(opts ...Option) (total int64, u *Stats) {
		u = newStats(t, 0, 100, opts...)
		return heapAfter(func() { flood(u, hours, perHour) }), u
	}
	dims, _ := measure(WithBreakdownCaps(0, 0))
	both, u2 := measure()
	pairBytes := (both - dims) / hours
	t.Logf("flood of %d calls per hour, %d hours, keys of %d bytes: dimensions %d KiB per tenant-hour, breakdowns %d KiB more",
		perHour, hours, MaxKeyBytes, dims/hours>>10, pairBytes>>10)
	if pairBytes > 400<<10 {
		t.Fatalf("breakdowns take %d bytes per tenant-hour", pairBytes)
	}
	more := heapAfter(func() {
		for h := hours; h < hours+2; h++ {
			for i := range perHour / 10 {
				k := fmt.Sprintf("late%06d%02d", i, h)
				record(u2, t0.Add(time.Duration(h)*time.Hour), "o", k, k, k, k, "GET", int64(perHour+i), false)
			}
		}
		u2.Tenants()
	})
	if more > 2*(both/hours)+(64<<10) {
		t.Fatalf("two more hours grew the statistics by %d bytes, an hour holds %d", more, both/hours)
	}
	for _, p := range allPairs() {
		checkCaps(t, u2, p, DefaultBreakdownKeys, DefaultBreakdownPerKey)
	}
}

// BenchmarkBreakdownFlood reports the bytes a flooded tenant-hour holds
// with and without the breakdowns, and what aggregating an event of the
// flood costs (the drainer's work, off the recording path).
func BenchmarkBreakdownFlood(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("breakdowns=%v", on), func(b *testing.B) {
			opt := WithBreakdownCaps(0, 0)
			if on {
				opt = nil
			}
			const perHour = 20_000
			var bytes int64
			b.ReportAllocs()
			for b.Loop() {
				u := New(0, 100, opt)
				bytes = heapAfter(func() { flood(u, 1, perHour) })
				_ = u.Close(b.Context())
			}
			b.ReportMetric(float64(bytes), "B/tenant-hour")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perHour), "ns/event")
		})
	}
}

// BenchmarkRecordAggregate is Record and its aggregation (which the
// drainer does off Record's path; at -cpu 1 it shares the core), with and
// without the breakdowns, over many tenants so that pushes rarely merge.
func BenchmarkRecordAggregate(b *testing.B) {
	keys := make([]string, 100_000)
	for i := range keys {
		keys[i] = fmt.Sprint("tenant", i)
	}
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("breakdowns=%v", on), func(b *testing.B) {
			opt := WithBreakdownCaps(0, 0)
			if on {
				opt = nil
			}
			u := New(0, 100, opt)
			defer func() { _ = u.Close(b.Context()) }()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				u.Record(Event{At: t0, Tenant: keys[i%len(keys)], App: "app", User: "u", Method: "GET", Credits: 1})
				i++
			}
			u.Tenants() // what is still pending
		})
	}
}
