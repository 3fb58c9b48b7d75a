package memory

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// r129Plans are the plans the differential test gives its tenants: a lone
// rolling pool (admit's fast path), one with a capped class, one with an
// extra window and one with a calendar (the general path).
var r129Plans = []*store.Plan{
	{Name: "lone", Credits: 60, Window: time.Hour, Concurrency: 3},
	{Name: "cls", Credits: 80, Window: time.Hour, Concurrency: 2, SubConcurrency: map[string]int64{"bulk": 1, "q": 2}},
	{Name: "extra", Credits: 90, Window: time.Hour, Concurrency: 4,
		Extra: []store.WindowLimit{{Credits: 20, Window: time.Minute}}},
	{Name: "cal", Credits: 70, Window: 24 * time.Hour, Concurrency: 2,
		Calendar: &store.Calendar{Location: time.UTC}},
}

// r129Keys: a key in words (8-24 bytes), short ones, a long one, and keys
// that differ from one another in one byte only.
var r129Keys = []string{"tenant-aaaa", "tenant-aaab", "t", "", "k7", strings.Repeat("x", 40), strings.Repeat("x", 39) + "y", "abcdefgh", "abcdefgi"}

// TestR129ReusedLeaseDecidesAsFresh drives two copies of the same stores with
// the same calls: one reuses a few leases for every tenant, store and kind
// of admission (so the lease's seek flag and its slots are in every state when
// a Take or Release comes), the other takes each call with a fresh lease.
// Every decision must be the same, and once all is released nothing may
// be held.
func TestR129ReusedLeaseDecidesAsFresh(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { r129Diff(t, seed) })
	}
}

func r129Diff(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 129))
	opts := [][]Option{{WithIdleAfter(time.Minute)}, {WithSlotCache(), WithIdleAfter(time.Minute)}, {WithMaxTenants(3)}}
	o := opts[seed%3]
	reused := []*Store{New(o...), New(o...)}
	fresh := []*Store{New(o...), New(o...)}
	planOf := map[string]*store.Plan{}
	for i, k := range r129Keys {
		planOf[k] = r129Plans[(i+int(seed))%len(r129Plans)]
	}
	plans := func(k string) *store.Plan { return planOf[k] }
	type held struct {
		store int
		key   string
		l     *Lease // reused side
		f     *Lease // fresh side
	}
	var free []*Lease
	for range 3 {
		free = append(free, new(Lease))
	}
	var out []held
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for op := 0; op < 400; op++ {
		now = now.Add(time.Duration(rng.IntN(20)) * time.Second)
		switch x := rng.IntN(20); {
		case x < 12 && len(free) > 0:
			si := rng.IntN(2)
			req := &store.Request{Tenant: r129Keys[rng.IntN(len(r129Keys))], App: []string{"x", "y"}[rng.IntN(2)],
				Class: []string{"", "bulk", "q", "other"}[rng.IntN(4)], Units: int64(rng.IntN(3)), Credits: int64(rng.IntN(12)) - 1}
			li := rng.IntN(len(free))
			l, f := free[li], new(Lease)
			var dl, df store.Decision
			reused[si].Take(now, req, plans, l, &dl)
			fresh[si].Take(now, req, plans, f, &df)
			if !r129SameDecision(dl, df) {
				t.Fatalf("op %d: %+v on store %d: reused lease %+v, fresh lease %+v", op, *req, si, dl, df)
			}
			if dl.Allowed {
				free = append(free[:li], free[li+1:]...)
				out = append(out, held{si, req.Tenant, l, f})
			}
		case x < 16 && len(out) > 0:
			i := rng.IntN(len(out))
			h := out[i]
			if rng.IntN(2) == 0 {
				delta, exact := int64(rng.IntN(9))-6, rng.IntN(2) == 0
				dl := reused[h.store].Settle(now, h.l, delta, exact)
				df := fresh[h.store].Settle(now, h.f, delta, exact)
				if !r129SameDecision(dl, df) {
					t.Fatalf("op %d: settle %d of %q on store %d: reused lease %+v, fresh lease %+v", op, delta, h.key, h.store, dl, df)
				}
			}
			reused[h.store].Release(h.l)
			fresh[h.store].Release(h.f)
			out = append(out[:i], out[i+1:]...)
			free = append(free, h.l)
		case x < 18:
			for i := range reused {
				if a, b := reused[i].Sweep(now), fresh[i].Sweep(now); a != b {
					t.Fatalf("op %d: sweep folded %d with reused leases, %d with fresh", op, a, b)
				}
			}
		default:
			k := r129Keys[rng.IntN(len(r129Keys))]
			planOf[k] = r129Plans[rng.IntN(len(r129Plans))]
			for i := range reused {
				e1, e2 := reused[i].SetPlan(now, k, planOf[k]), fresh[i].SetPlan(now, k, planOf[k])
				if (e1 == nil) != (e2 == nil) {
					t.Fatalf("op %d: SetPlan: %v vs %v", op, e1, e2)
				}
			}
		}
		for i := range reused {
			for _, k := range r129Keys {
				if a, b := reused[i].Held(k), fresh[i].Held(k); a != b {
					t.Fatalf("op %d: store %d tenant %q holds %d slots with reused leases, %d with fresh", op, i, k, a, b)
				}
			}
		}
	}
	for _, h := range out {
		reused[h.store].Release(h.l)
		fresh[h.store].Release(h.f)
	}
	for i := range reused {
		for _, k := range r129Keys {
			if a := reused[i].Held(k); a != 0 {
				t.Fatalf("store %d tenant %q holds %d slots after every release", i, k, a)
			}
		}
	}
}

func r129SameDecision(a, b store.Decision) bool {
	ra, rb := a.Reset, b.Reset
	a.Reset, b.Reset = time.Time{}, time.Time{}
	return a == b && ra.Equal(rb)
}
