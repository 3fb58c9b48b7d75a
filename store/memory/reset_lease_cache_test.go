package memory

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// TestLeaseResetCacheMatchesFresh: an admission through a reused lease
// (whose last Decision.Reset it may copy) decides exactly as one through a
// fresh lease, Reset's representation included (==: instant, location,
// no monotonic reading), on twin stores given the same calls: tenants
// whose windows reset at the same instant and at others, now moving in
// time and between locations, with calendar and compound plans.
func TestLeaseResetCacheMatchesFresh(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		la = time.FixedZone("PST", -8*3600)
	}
	locs := []*time.Location{time.UTC, time.Local, la, time.FixedZone("X", 5*3600+1800), time.FixedZone("UTC", 0)}
	plans := []store.Plan{
		{Name: "r", Credits: 40, Window: time.Minute, Concurrency: 4},
		{Name: "r2", Credits: 40, Window: time.Minute, Concurrency: 4}, // another plan, the same resets
		{Name: "c", Credits: 40, Window: 24 * time.Hour, Concurrency: 4, Calendar: &store.Calendar{Reset: time.Hour, Location: la}},
		{Name: "x", Credits: 40, Window: time.Hour, Concurrency: 4, Extra: []store.WindowLimit{{Credits: 9, Window: 10 * time.Second}}},
	}
	tenants := []string{"a", "b", "c", "d", "e", "f"}
	planOf := func(k string) *store.Plan { return &plans[int(k[0]-'a')%len(plans)] }
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		reused, fresh := New(), New()
		var kept Lease
		now := foldT0
		for i := range 400 {
			now = now.Add(time.Duration(rng.IntN(3000)) * time.Millisecond)
			at := now.In(locs[rng.IntN(len(locs))])
			req := &store.Request{Tenant: tenants[rng.IntN(len(tenants))], App: "app", Credits: int64(rng.IntN(3))}
			var got, want store.Decision
			var once Lease
			reused.Take(at, req, planOf, &kept, &got)
			fresh.Take(at, req, planOf, &once, &want)
			if got != want {
				t.Fatalf("seed %d call %d (%s at %v): reused lease decided %+v (Reset in %p), fresh %+v (in %p)", seed, i, req.Tenant, at, got, got.Reset.Location(), want, want.Reset.Location())
			}
			if got.Allowed {
				reused.Release(&kept)
				fresh.Release(&once)
			}
		}
	}
}
