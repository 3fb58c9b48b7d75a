package memory

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// A snapshot taken while the store serves and folds (a periodic one, say)
// must restore: it lists each tenant once, from the table or from the
// folded records, never from both (nor from neither). Tenants() likewise.
// Not from 690ac7f: the parent commit fails it the same way.
func TestSnapshotWhileFolding(t *testing.T) {
	s := New(WithMaxTenants(50), WithSlots(12))
	keys := make([]string, 400)
	for i := range keys {
		keys[i] = fmt.Sprint("t", i)
	}
	var clock atomic.Int64
	clock.Store(foldT0.UnixNano())
	var stop atomic.Bool
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			var l Lease
			for i := g; !stop.Load(); i++ {
				var d store.Decision
				at := time.Unix(0, clock.Add(int64(time.Millisecond)))
				s.Take(at, &store.Request{Tenant: keys[i%len(keys)], App: "x", Credits: 1}, fewCredits, &l, &d)
				if d.Allowed {
					s.Release(&l)
				}
			}
		})
	}
	defer func() { stop.Store(true); wg.Wait() }()
	for i := range 100 {
		if _, err := restored(s, time.Unix(0, clock.Load()), fewCredits); err != nil {
			t.Fatalf("snapshot %d: %v", i, err)
		}
		for k, n := range tenantCounts(s) {
			if n > 1 {
				t.Fatalf("Tenants() lists %q %d times", k, n)
			}
		}
	}
}

// restored is a store restored from a snapshot of s taken at at (both with
// 12 slots, as the tests' stores are).
func restored(s *Store, at time.Time, plans store.PlanFunc) (*Store, error) {
	var buf strings.Builder
	if err := s.SnapshotAt(at, &buf); err != nil {
		return nil, err
	}
	r := New(WithSlots(12))
	return r, r.RestoreAt(at, strings.NewReader(buf.String()), plans)
}

// tenantCounts counts how many times s.Tenants() lists each key.
func tenantCounts(s *Store) map[string]int {
	seen := map[string]int{}
	for k := range s.Tenants() {
		seen[k]++
	}
	return seen
}

// TestRestoreDuringSetPlan: a SetPlan that begins after RestoreAt asked a
// tenant's plan, and before the restored tenant is in the table, finds no
// tenant to change; the restored tenant must still end with the new plan,
// as one a Take creates does (store.Store.SetPlan).
func TestRestoreDuringSetPlan(t *testing.T) {
	s := New(WithSlots(12))
	old, upgraded := store.Plan{Name: "old", Credits: 10, Concurrency: 1}, store.Plan{Name: "new", Credits: 1000, Concurrency: 1}
	var d store.Decision
	var l Lease
	s.Take(foldT0, &store.Request{Tenant: "a", App: "x", Credits: 4}, func(string) *store.Plan { return &old }, &l, &d)
	if !d.Allowed {
		t.Fatal(d)
	}
	s.Release(&l)
	var buf strings.Builder
	if err := s.SnapshotAt(foldT0, &buf); err != nil {
		t.Fatal(err)
	}
	r := New(WithSlots(12))
	cur := &old
	plans := func(string) *store.Plan {
		p := cur
		if p == &old { // the caller stores its new plan, then calls SetPlan, while the restore builds a
			cur = &upgraded
			if err := r.SetPlan(foldT0, "a", &upgraded); err != nil {
				t.Error(err)
			}
		}
		return p
	}
	if err := r.RestoreAt(foldT0, strings.NewReader(buf.String()), plans); err != nil {
		t.Fatal(err)
	}
	if d := r.Peek(foldT0, "a", 0, plans); d.Limit != upgraded.Credits || d.Remaining != upgraded.Credits-4 {
		t.Fatalf("restored during SetPlan: %+v, want limit %d, remaining %d", d, upgraded.Credits, upgraded.Credits-4)
	}
}
