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

// prefixKeys are keys around kpre's 24 bytes (and 16, where it once
// ended) that share their first bytes (or are a prefix of them): a lookup
// must tell them apart by length and by the bytes after the prefix.
func prefixKeys() []string {
	p := strings.Repeat("k", 16)
	q := strings.Repeat("k", 24)
	return []string{"", p[:1], p[:15], p, p + "x", p + "y", p + "xy", p + strings.Repeat("x", 8),
		p + strings.Repeat("x", 9), p + strings.Repeat("y", 8), "j" + p[1:], "j" + p[1:] + "x",
		q[:23], q, q + "x", q + "y", q + "xy", "j" + q[1:] + "x"}
}

// All keys in one shard with one hash: the bucket tags filter nothing, and
// hasKey alone must find each tenant, past deleted slots and
// through rebuilds, while lookups race (for -race).
func TestTenantTableCollidingKeys(t *testing.T) {
	const h = 0x5eed
	keys := prefixKeys()
	for i := range 40 { // enough to grow and rebuild the table
		keys = append(keys, fmt.Sprintf("%s%02d", strings.Repeat("k", 16), i))
	}
	sh := &shard{}
	model := map[string]*tenant{}
	add := func(k string) {
		nt := hashed(h)
		nt.setKey(k)
		if got, added := sh.insert(nt); !added || got != nt {
			t.Fatalf("insert %q: added %v", k, added)
		}
		model[k] = nt
	}
	check := func(when string) {
		t.Helper()
		for _, k := range keys {
			if got := sh.get(h, k); got != model[k] {
				t.Fatalf("%s: get %q = %p (key %q), want %p", when, k, got, keyOf(got), model[k])
			}
		}
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for !stop.Load() {
				for _, k := range keys {
					if got := sh.get(h, k); got != nil && got.key != k {
						t.Errorf("get %q returned the tenant of %q", k, got.key)
						return
					}
				}
			}
		})
	}
	defer func() { stop.Store(true); wg.Wait() }() // also when a check fails
	for round := range 6 {
		for i, k := range keys {
			if model[k] == nil && (i+round)%3 != 0 {
				add(k)
			}
		}
		check(fmt.Sprint("round ", round, " inserted"))
		sh.mu.Lock()
		sh.sweep(func(tn *tenant) bool { return (len(tn.key)+round)%2 == 0 })
		sh.mu.Unlock()
		for k := range model {
			if (len(k)+round)%2 == 0 {
				delete(model, k)
			}
		}
		check(fmt.Sprint("round ", round, " swept"))
	}
}

func keyOf(tn *tenant) string {
	if tn == nil {
		return "<nil>"
	}
	return tn.key
}

// Goroutines each reuse one lease across keys that share their first 16 or 24
// bytes while a sweeper folds idle tenants: the lease shortcut and the
// lookups must charge each key's own pool, so every key's pool counts
// exactly what was admitted for it (through fold and unfold).
func TestPrefixKeysWithFolding(t *testing.T) {
	keys := prefixKeys()
	if s := foldRace(t, keys, 4000, 7, int64(len(keys))); s.Evicted() < int64(len(keys)) {
		t.Fatalf("%d evictions: the test exercised little folding", s.Evicted())
	}
}

// Plan changes that add and drop capped classes, racing admissions of two
// applications (with room for one) on tenants created before and during
// the changes: every slot comes back, no tenant's table shares entries with
// another's, and the shared empty table stays empty.
func TestSetPlanClassesRace(t *testing.T) {
	none := store.Plan{Name: "none", Credits: 1 << 30, Window: time.Hour, Concurrency: 4}
	some := store.Plan{Name: "some", Credits: 1 << 30, Window: time.Hour, Concurrency: 3,
		SubConcurrency: map[string]int64{"bulk": 2, "alpha": 1}}
	other := some
	other.SubConcurrency = map[string]int64{"zeta": 1}
	variants := []*store.Plan{&none, &some, &none, &other}
	var cur atomic.Pointer[store.Plan]
	cur.Store(&none)
	plans := func(string) *store.Plan { return cur.Load() }
	s := New(WithMaxApps(1))
	keys := prefixKeys()
	var stop atomic.Bool
	var changes sync.WaitGroup
	changes.Go(func() {
		for i := 0; !stop.Load(); i++ {
			p := variants[i%len(variants)]
			cur.Store(p)
			for _, k := range keys {
				if err := s.SetPlan(foldT0, k, p); err != nil {
					t.Error(err)
					return
				}
			}
		}
	})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 3000 {
				req := store.Request{Tenant: keys[(g*5+i)%len(keys)], App: []string{"a", "b"}[i%2],
					Class: []string{"", "bulk", "alpha", "zeta"}[(i/2)%4], Credits: 1}
				var l Lease
				var d store.Decision
				if s.Take(foldT0, &req, plans, &l, &d); d.Allowed {
					s.Release(&l)
				}
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	changes.Wait()
	if n, c := len(noEntries.entries), cap(noEntries.entries); n != 0 || c != 0 {
		t.Fatalf("the shared empty table has %d entries (cap %d)", n, c)
	}
	owner := map[*semEntry]string{}
	for _, k := range keys {
		if h := s.Held(k); h != 0 {
			t.Errorf("%q: %d slots held after every release", k, h)
		}
		tn := s.lookup(k)
		if tn == nil {
			continue
		}
		for _, tab := range []*semTable{tn.appTable(), &tn.classTab().semTable} {
			for _, e := range tab.entries {
				if o, ok := owner[e]; ok && o != k {
					t.Errorf("entry %q of %q is also %q's", *e.name, k, o)
				}
				owner[e] = k
			}
		}
	}
}

// A snapshot of keys that share their first 16 or 24 bytes, some active and some
// folded, restores each key's own spending.
func TestPrefixKeysSnapshot(t *testing.T) {
	s := New(WithSlots(12))
	keys := prefixKeys()
	for i, k := range keys {
		if d := spend(t, s, foldT0, k, 1+int64(i)); !d.Allowed {
			t.Fatalf("%q refused: %+v", k, d)
		}
		if i == len(keys)/2 {
			s.Sweep(foldT0) // the first half folded (idle: nothing in flight)
		}
	}
	if s.Folded() == 0 || s.Len() == 0 {
		t.Fatalf("%d active, %d folded: want both", s.Len(), s.Folded())
	}
	r, err := restored(s, foldT0, foldPlans)
	if err != nil {
		t.Fatal(err)
	}
	seen := tenantCounts(r)
	for i, k := range keys {
		if seen[k] == 0 {
			t.Errorf("%q not restored", k)
		}
		for name, st := range map[string]*Store{"original": s, "restored": r} {
			if d := st.Peek(foldT0, k, 0, foldPlans); d.Used != 1+int64(i) {
				t.Errorf("%s %q: used %d, want %d", name, k, d.Used, 1+i)
			}
		}
	}
}
