package memory

// Reviewer r115: attacks on the ring's tiers of lanes (g114).

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// TestRestoredRingCounted_r115: a tenant restored from a snapshot (or
// unfolded from its record) is charged with the spends still out under
// MaxLimit (carryInto: "spends above the new limit stay spent"), so its
// rolling window records slots larger than its plan's limit and makes the
// ring's 64-bit tier (768 B at the default day). The store counts the
// tenant's bytes (t.cost) before those charges, from a RingBytes that
// only looks at the limit and at the tiers that exist yet: the restored
// tenant's tier is never counted against WithMaxBytes. Here a plan of
// 1,000 credits restores tenants that spent 9 Mi under a bigger one (a
// downgrade between snapshot and restore): the store's own estimate of
// the tenant (tenantCost, as recost would compute it) is 768 B above what
// it counted, and the heap holds about twice what is counted.
// Fails on main.
func TestRestoredRingCounted_r115(t *testing.T) {
	const n = 2_000
	big := store.Plan{Name: "big", Credits: 1 << 30, Window: 24 * time.Hour, Concurrency: 2}
	small := store.Plan{Name: "small", Credits: 1_000, Window: 24 * time.Hour, Concurrency: 2}
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	src := New()
	bigs := func(string) *store.Plan { return &big }
	for i := range n {
		key := fmt.Sprintf("tenant-%06d", i)
		for j, c := range []int64{9 << 20, 1} { // 9 Mi credits, then a roll records them
			if d := src.Charge(t0.Add(time.Duration(j)*20*time.Minute), key, c, bigs); !d.Allowed || d.Cost != c {
				t.Fatalf("charge %d of %s: %+v", j, key, d)
			}
		}
	}
	now := t0.Add(40 * time.Minute)
	var snap bytes.Buffer
	if err := src.SnapshotAt(now, &snap); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := New()
	if err := s.RestoreAt(now, &snap, func(string) *store.Plan { return &small }); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("per tenant: %.0f B on the heap, %d B counted", heap, s.Bytes()/n)
	var under int
	for i := range n {
		key := fmt.Sprintf("tenant-%06d", i)
		tn := s.lookup(key)
		if tn == nil {
			t.Fatalf("%s not restored", key)
		}
		if c := tenantCost(tn); c != tn.cost {
			if under++; under == 1 {
				t.Errorf("%s: counted %d B, its windows now cost %d B (tenantCost)", key, tn.cost, c)
			}
		}
	}
	if under > 0 {
		t.Errorf("%d of %d restored tenants counted below their cost", under, n)
	}
	if float64(s.Bytes()/n)*1.25 < heap {
		t.Errorf("counted %d B per tenant against WithMaxBytes, the heap holds %.0f B: more than a quarter over", s.Bytes()/n, heap)
	}
	runtime.KeepAlive(s)
}

// TestUnfoldedRingCounted_r115: the same through a fold: a tenant that
// spent 9 Mi under a big plan is folded, its plan lowered to 1,000
// credits, and it comes back (create's unfold charges its record under
// MaxLimit after the tenant's bytes were counted). Fails on main.
func TestUnfoldedRingCounted_r115(t *testing.T) {
	big := store.Plan{Name: "big", Credits: 1 << 30, Window: 24 * time.Hour, Concurrency: 2}
	small := store.Plan{Name: "small", Credits: 1_000, Window: 24 * time.Hour, Concurrency: 2}
	plan := &big
	plans := func(string) *store.Plan { return plan }
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New()
	for j, c := range []int64{9 << 20, 1} {
		if d := s.Charge(t0.Add(time.Duration(j)*20*time.Minute), "k", c, plans); !d.Allowed || d.Cost != c {
			t.Fatalf("charge %d: %+v", j, d)
		}
	}
	if s.Sweep(t0.Add(2 * time.Hour)); s.Folded() != 1 {
		t.Fatalf("folded %d tenants, want 1", s.Folded())
	}
	plan = &small
	if err := s.SetPlan(t0.Add(2*time.Hour), "k", &small); err != nil {
		t.Fatal(err)
	}
	if d := s.Charge(t0.Add(2*time.Hour), "k", 1, plans); d.Cost != 0 || d.Used < 9<<20 {
		t.Fatalf("9 Mi of 1,000 spent, a charge of 1: %+v", d)
	}
	tn := s.lookup("k")
	if tn == nil {
		t.Fatal("k not unfolded")
	}
	if c := tenantCost(tn); c != tn.cost {
		t.Fatalf("unfolded tenant counted %d B, its windows now cost %d B (tenantCost)", tn.cost, c)
	}
}
