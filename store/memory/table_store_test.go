package memory

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

var fewCreditsPlan = store.Plan{Name: "few", Credits: 5, Window: 24 * time.Hour, Concurrency: 4}

func fewCredits(string) *store.Plan { return &fewCreditsPlan }

// TestManyTenantsFoldConcurrently: goroutines take from 4,000 tenants of
// one shard with room for 400 active ones, so that the shard's table fills,
// is swept of nearly all its tenants (folded) and shrinks, and fills again,
// over and over, under lock-free lookups. A lookup that missed a present tenant would
// create a second one with a fresh pool, and admit more than a tenant's
// credits: every tenant must be admitted exactly its credits, keep them
// through folds, and keep them through a snapshot and restore.
func TestManyTenantsFoldConcurrently(t *testing.T) {
	const nkeys, passes = 4000, 4
	s := New(WithMaxTenants(400), WithSlots(12))
	// All in one shard: its table grows to about 400 tenants, and shrinks
	// to a bucket or two each time the store folds them.
	keys := make([]string, 0, nkeys)
	for i := 0; len(keys) < nkeys; i++ {
		if k := fmt.Sprint("tenant-", i); shardIndex(s, k) == 0 {
			keys = append(keys, k)
		}
	}
	admitted := make([]atomic.Int64, nkeys)
	var clock atomic.Int64
	clock.Store(foldT0.UnixNano())
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 18))
			var l Lease
			for range passes {
				for _, k := range r.Perm(nkeys) {
					var d store.Decision
					at := time.Unix(0, clock.Add(int64(100*time.Millisecond)))
					s.Take(at, &store.Request{Tenant: keys[k], App: "x", Credits: 1}, fewCredits, &l, &d)
					if !d.Allowed {
						if d.Reason != store.ReasonCredits && d.Reason != store.ReasonTenants {
							t.Errorf("%q refused: %+v", keys[k], d)
							return
						}
						continue
					}
					if l.t.key != keys[k] {
						t.Errorf("take for %q admitted by the tenant of %q", keys[k], l.t.key)
						return
					}
					admitted[k].Add(1)
					s.Release(&l)
				}
			}
		})
	}
	wg.Wait()
	if s.Evicted() < nkeys {
		t.Fatalf("%d evictions: little folding", s.Evicted())
	}
	now := time.Unix(0, clock.Load())
	short := 0
	for k, key := range keys {
		n := admitted[k].Load()
		if n > fewCreditsPlan.Credits {
			t.Errorf("%q admitted %d, its plan has %d credits", key, n, fewCreditsPlan.Credits)
		}
		if n < fewCreditsPlan.Credits {
			short++
		}
		if d := s.Peek(now, key, 0, fewCredits); d.Used != n {
			t.Errorf("%q: used %d, admitted %d", key, d.Used, n)
		}
	}
	if short > nkeys/10 {
		t.Errorf("%d tenants admitted less than their credits (refused for room)", short)
	}
	r, err := restored(s, now, fewCredits)
	if err != nil {
		t.Fatal(err)
	}
	seen := tenantCounts(s)
	for k, key := range keys {
		if seen[key] != 1 {
			t.Errorf("Tenants() lists %q %d times", key, seen[key])
		}
		if d := r.Peek(now, key, 0, fewCredits); d.Used != admitted[k].Load() {
			t.Errorf("restored %q: used %d, admitted %d", key, d.Used, admitted[k].Load())
		}
	}
}

func shardIndex(s *Store, key string) int {
	_, h := s.shardOf(key)
	return int(h >> (64 - shardBits))
}
