package memory

import (
	"math"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// TestTouchIsTrue: Take asks touch of the tenant its lookup found, and
// takes a false one for not found: each admission of such a tenant would
// go through create (which finds it, and keeps one tenant). touch is false
// only for a lastUsed of MinInt64, which no instant reads as: a lastUsed
// of 0 and the earliest times there are read true.
func TestTouchIsTrue(t *testing.T) {
	if math.MinInt64 >= -(math.MaxInt64/1_000_000_000-1)*1_000_000_000 {
		t.Fatal("the low clamp reads as MinInt64")
	}
	plans := func(string) *store.Plan {
		return &store.Plan{Name: "p", Credits: 100, Window: time.Hour, Concurrency: 2}
	}
	earliest := []time.Time{
		time.Unix(math.MinInt64, 0),
		time.Unix(-(math.MaxInt64/1_000_000_000 - 1), 0),
		time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
		{},
		time.Unix(0, 0), // lastUsed 0, its value before any admission
	}
	for _, at := range earliest {
		s := New()
		for i := range 3 {
			var l Lease
			var d store.Decision
			s.Take(at, &store.Request{Tenant: "tenant-a", Credits: 1}, plans, &l, &d)
			if !d.Allowed {
				t.Fatalf("%v, take %d: refused: %+v", at, i, d)
			}
			if !l.t.touch() {
				t.Fatalf("%v: touch is false (lastUsed %d)", at, l.t.lastUsed.Load())
			}
			s.Release(&l)
		}
		if n := s.Len(); n != 1 {
			t.Errorf("%v: %d tenants after three takes of one key, want 1", at, n)
		}
	}
}
