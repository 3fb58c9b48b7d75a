package limiter

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
)

// wrappedStore hides the MemoryStore's type, so the Limiter drives it through
// the Store interface (Take, Release, Adjust): the path a shared store such as
// the Redis one takes, which the direct MemoryStore path otherwise bypasses.
type wrappedStore struct{ Store }

func TestLimiterThroughStoreInterface(t *testing.T) {
	var log alertLog
	l := mustNew(t, testPlan(), WithStore(wrappedStore{NewMemoryStore(StoreSlots(24))}), WithAlerts(nil, log.add))
	if l.mem != nil {
		t.Fatal("the wrapped store was recognised as a MemoryStore")
	}
	req := Request{Tenant: "org", App: "a", Credits: 10, Class: "bulk"}
	t1, d := l.Acquire(t0, req)
	if !d.Allowed || d.Remaining != 90 || d.Limit != 100 || d.Cost != 10 {
		t.Fatalf("first: %+v", d)
	}
	// bulk has sub-concurrency 1: held by t1.
	if _, d = l.Acquire(t0, req); d.Allowed || d.Reason != ReasonSubConcurrency || d.Remaining != 90 {
		t.Fatalf("second bulk: %+v", d)
	}
	// Settle refunds the difference through Store.Adjust.
	t1.Settle(t0, 4)
	if d = l.Peek(t0, "org"); d.Remaining != 96 {
		t.Fatalf("after settle: %+v", d)
	}
	t1.Release()
	t1.Release() // exactly once: the second is a no-op
	t2, d := l.Acquire(t0, req)
	if !d.Allowed || d.Remaining != 86 {
		t.Fatalf("after release: %+v", d)
	}
	// Concurrency 2 per app: t2 and t3 hold both; had the double Release
	// given back twice, a third would get in.
	t3, d := l.Acquire(t0, Request{Tenant: "org", App: "a", Credits: 1})
	if !d.Allowed {
		t.Fatalf("t3: %+v", d)
	}
	if _, d = l.Acquire(t0, Request{Tenant: "org", App: "a"}); d.Allowed || d.Reason != ReasonConcurrency {
		t.Fatalf("third in flight: %+v", d)
	}
	// Alerts go through Lease.Alerts: a settle to 80 % used fires 80.
	t3.Settle(t0, 67) // 14 + 67 = 81 used
	t2.Release()
	t3.Release()
	// Every slot is back: the bulk class and both of app a's.
	for range 2 {
		tk, d := l.Acquire(t0, Request{Tenant: "org", App: "a", Class: "bulk"})
		if !d.Allowed {
			t.Fatalf("slots leaked: %+v", d)
		}
		tk.Release()
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := log.thresholds(); !slices.Equal(got, []int{80}) {
		t.Fatalf("alerts: %v", got)
	}
	// Snapshots read the in-memory store's state: another store has none.
	var buf bytes.Buffer
	if err := l.SnapshotAt(t0, &buf); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("SnapshotAt: %v", err)
	}
	if err := l.RestoreAt(t0, &buf); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("RestoreAt: %v", err)
	}
}
