package usage

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkRecordIn is the limiter's recording of an admission (RecordIn
// with every dimension, one buffer per goroutine as the limiter's per-P
// tickets give) over keys tenants round-robin, with its aggregation, which
// at -cpu 1 shares the core.
func BenchmarkRecordIn(b *testing.B) {
	for _, n := range []int{1, 100_000} {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = fmt.Sprintf("tenant-%06d", i)
		}
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			u := New(0, 0)
			defer func() { _ = u.Close(b.Context()) }()
			now := time.Now()
			var next atomic.Uint64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				buf := next.Add(1) * 0x9e3779b97f4a7c15
				i := int(buf>>40) % n
				for pb.Next() {
					u.RecordIn(buf, &Event{At: now, Tenant: keys[i], App: "crm-sync", Module: "Leads",
						IP: "192.0.2.1", User: "user@example.com", Method: "GET", Credits: 1})
					if i++; i == n {
						i = 0
					}
				}
			})
			u.Tenants() // what is still pending
		})
	}
}
