package memory

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// A lease remembers its tenant, and Take tries that tenant before a lookup
// (the limiter reuses leases per P). The shortcut must never admit into the
// wrong pool: not another store's tenant, not an evicted one, not another
// key's.
func TestLeaseRemembersOnlyItsOwnTenant(t *testing.T) {
	take := func(s *Store, at time.Time, tenant string, n int64, l *Lease) store.Decision {
		t.Helper()
		var d store.Decision
		s.Take(at, &store.Request{Tenant: tenant, App: "x", Credits: n}, foldPlans, l, &d)
		if !d.Allowed {
			t.Fatalf("%s refused: %+v", tenant, d)
		}
		s.Release(l)
		return d
	}
	remaining := func(s *Store, at time.Time, tenant string) int64 {
		return s.Peek(at, tenant, 0, foldPlans).Remaining
	}
	s1, s2 := New(), New()
	var l Lease
	at := foldT0
	take(s1, at, "a", 10, &l)
	// The same lease with another store: s2 gets a tenant of its own.
	if d := take(s2, at, "a", 5, &l); d.Remaining != 95 {
		t.Fatalf("s2's a has %d left after 5 of 100, want 95 (the lease's tenant is s1's)", d.Remaining)
	}
	if got := remaining(s1, at, "a"); got != 90 {
		t.Fatalf("s1's a has %d left, want 90", got)
	}
	if s2.Len() != 1 {
		t.Fatalf("s2 holds %d tenants, want 1", s2.Len())
	}
	// Another key with the same lease and store.
	take(s1, at, "a", 1, &l)
	take(s1, at, "b", 7, &l)
	if a, b := remaining(s1, at, "a"), remaining(s1, at, "b"); a != 89 || b != 93 {
		t.Fatalf("a, b have %d, %d left, want 89, 93", a, b)
	}
	// b idles out and is folded; the lease still points at the dead tenant
	// (which admit also checks once it holds the tenant's slots).
	s3 := New(WithIdleAfter(time.Minute))
	take(s3, at, "b", 7, &l)
	later := at.Add(10 * time.Minute)
	if s3.Sweep(later) != 1 {
		t.Fatal("the idle tenant was not swept")
	}
	if d := take(s3, later, "b", 3, &l); d.Remaining != 90 {
		t.Fatalf("b has %d left after 7 and 3 of 100, want 90 (spent in the folded tenant or lost)", d.Remaining)
	}
	if s3.Len() != 1 {
		t.Fatalf("s3 holds %d tenants, want 1", s3.Len())
	}
}

// Goroutines reuse one lease each across two tenants while a sweeper folds
// idle tenants and the clock moves: every admitted credit must be counted in
// the live tenant (exact accounting through fold/unfold), none in a folded one.
func TestLeaseShortcutWithFolding(t *testing.T) {
	// 3,000 takes, and more until the sweeper has folded a tenant (on a
	// loaded machine it may get no turn before): the test must exercise
	// folding, not just hope to.
	if s := foldRace(t, []string{"a", "b"}, 3000, 50, 1); s.Evicted() == 0 {
		t.Fatal("no tenant was folded: the test exercised nothing")
	}
}

// foldRace has 4 goroutines take one credit at a time from keys, each
// reusing one lease and moving to the next key every stride takes, while a
// sweeper folds idle tenants and moves the clock: takes takes each, and
// more until minEvicted tenants were folded (at most 3,000,000). Every take
// must be admitted by its own key's tenant, and at the end every key's pool
// must count exactly what was admitted for it. It returns the store.
func foldRace(t *testing.T, keys []string, takes, stride int, minEvicted int64) *Store {
	t.Helper()
	plan := store.Plan{Name: "p", Credits: 1 << 30, Window: 24 * time.Hour, Concurrency: 100}
	plans := func(string) *store.Plan { return &plan }
	s := New(WithIdleAfter(time.Millisecond))
	spent := make([]atomic.Int64, len(keys))
	var clock atomic.Int64
	clock.Store(foldT0.UnixNano())
	stop := make(chan struct{})
	var sweeps sync.WaitGroup
	sweeps.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			s.Sweep(time.Unix(0, clock.Add(int64(time.Millisecond))))
		}
	})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			var l Lease
			for i := 0; i < takes || (s.Evicted() < minEvicted && i < 3_000_000); i++ {
				k := (g + i/stride) % len(keys)
				var d store.Decision
				s.Take(time.Unix(0, clock.Load()), &store.Request{Tenant: keys[k], App: "x", Credits: 1}, plans, &l, &d)
				if !d.Allowed {
					t.Errorf("refused: %+v", d)
					return
				}
				if l.t.key != keys[k] {
					t.Errorf("take for %q admitted by the tenant of %q", keys[k], l.t.key)
					return
				}
				spent[k].Add(1)
				s.Release(&l)
			}
		})
	}
	wg.Wait()
	close(stop)
	sweeps.Wait()
	at := time.Unix(0, clock.Load())
	for k, key := range keys {
		if got := plan.Credits - s.Peek(at, key, 0, plans).Remaining; got != spent[k].Load() {
			t.Errorf("%q: %d spent in the store, %d admitted (folded %d, evicted %d)", key, got, spent[k].Load(), s.Folded(), s.Evicted())
		}
	}
	return s
}
