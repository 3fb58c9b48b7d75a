package memory

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/creditgate/creditgate/store"
)

// Keys of every length behave the same with and without the slot cache:
// the empty key, keys that fill kpre (24 bytes) or pass it by one, and
// long ones that differ only past kpre are distinct tenants, each capped
// on its own, found again by the lease's shortcut and by lookup, and
// folded and brought back with their spends (and, with the cache, their
// cache). Holds.
func TestKeyLengthsWithAndWithoutCache(t *testing.T) {
	long := strings.Repeat("x", 4096)
	keys := []string{"", "a", strings.Repeat("k", 23), strings.Repeat("k", 24),
		strings.Repeat("k", 24) + "a", strings.Repeat("k", 24) + "b", long, long + "a", long + "b"}
	plan := &store.Plan{Name: "p", Credits: 10, Window: time.Hour, Concurrency: 1}
	plans := func(string) *store.Plan { return plan }
	for _, cached := range []bool{false, true} {
		opts := []Option{WithIdleAfter(time.Minute)}
		if cached {
			opts = append(opts, WithSlotCache())
		}
		s := New(opts...)
		now := time.Unix(1e9, 0)
		take := func(key string, l *Lease, want store.Reason, remaining int64) {
			t.Helper()
			var d store.Decision
			s.Take(now, &store.Request{Tenant: key, App: "a", Credits: 1}, plans, l, &d)
			if d.Reason != want || (want == store.ReasonNone && d.Remaining != remaining) {
				t.Fatalf("cache %v, key of %d bytes: %v remaining %d, want %v remaining %d",
					cached, len(key), d.Reason, d.Remaining, want, remaining)
			}
		}
		check := func(key string, held int64) {
			t.Helper()
			tn := s.lookup(key)
			if tn == nil || tn.key != key || (tn.cache() != nil) != cached {
				t.Fatalf("cache %v, key of %d bytes: tenant %v, cache %v", cached, len(key), tn != nil, tn != nil && tn.cache() != nil)
			}
			if got := s.Held(key); got != held {
				t.Fatalf("cache %v, key of %d bytes: Held %d, want %d", cached, len(key), got, held)
			}
		}
		for round := range 2 { // round 1: every tenant unfolded
			for _, k := range keys {
				var l, l2 Lease
				take(k, &l, store.ReasonNone, int64(9-2*round))
				take(k, &l2, store.ReasonConcurrency, 0)
				check(k, 1)
				s.Release(&l)
				take(k, &l, store.ReasonNone, int64(8-2*round)) // the lease's shortcut
				s.Release(&l)
				check(k, 0)
			}
			if s.Len() != len(keys) {
				t.Fatalf("cache %v: %d tenants, want %d", cached, s.Len(), len(keys))
			}
			now = now.Add(2 * time.Minute)
			if n := s.Sweep(now); n != len(keys) || s.Len() != 0 || s.Folded() != len(keys) {
				t.Fatalf("cache %v: Sweep %d, Len %d, Folded %d", cached, n, s.Len(), s.Folded())
			}
		}
	}
}

// A key of 2^31 bytes or more must not set klen's cachedBit: a plain
// tenant whose cache() believed it a withCache would hand admissions and
// releases a PairCache past the end of its object (another object's
// memory). Take and Charge refuse keys past MaxKeyBytes, so this checks
// newTenant itself: the clamp stays as a guard behind that bound.
// It runs only with CREDITGATE_HUGE_KEY=1: copying a 2 GiB key takes this
// VM about 30 s (page faults), and 4 GiB of memory.
func TestHugeKeyPlainTenant(t *testing.T) {
	if os.Getenv("CREDITGATE_HUGE_KEY") != "1" {
		t.Skip("a 2 GiB key: set CREDITGATE_HUGE_KEY=1")
	}
	size := uint64(1) << 31
	if size > math.MaxInt { // a 32-bit build: no slice that long (the variable keeps it compiling there)
		t.Skip("a 2 GiB key needs a 64-bit build")
	}
	b := make([]byte, int(size)) // fresh zero pages: reading them costs little
	key := unsafe.String(&b[0], len(b))
	s := New()
	plan := &store.Plan{Name: "p", Credits: 10, Window: time.Hour, Concurrency: 1}
	_, h := s.shardOf(key)
	tn, err := s.newTenant(key, h, plan)
	if err != nil {
		t.Fatal(err)
	}
	if tn.cache() != nil {
		t.Fatalf("a plain tenant with a key of %d bytes has a slot cache (klen %#x)", len(key), tn.klen())
	}
	if !tn.hasKey(key) || tn.hasKey(key[:len(key)-1]) || tn.hasKey(key[:24]) || tn.hasKey("") {
		t.Fatalf("hasKey wrong for a key of %d bytes", len(key))
	}
}
