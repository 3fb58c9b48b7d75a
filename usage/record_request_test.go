package usage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// RecordRequest, the limiter's path, must record exactly what RecordIn
// records for the same decision: the same buffers event for event (open
// runs closed into them), the same fold reports, and the same rows once
// aggregated, below the tenant cap and past it, with runs opening and
// closing (the same strings passed again), hours changing and refusals.
func TestRecordRequestMatchesRecordIn(t *testing.T) {
	for seed := range 40 {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		a, b := newStats(t, 0, 100), newStats(t, 0, 100)
		for _, u := range []*Stats{a, b} { // aggregated only when the test says (or a queue fills)
			if err := u.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		b.seed, b.filter.seed = a.seed, a.filter.seed // the same false positives of the filter
		at := time.Date(2026, 5, 1, 10, 59, 0, 0, time.UTC)
		pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
		folds, open := 0, 0
		names := make([]string, DefaultTenants+200) // past the cap: most of the last fold
		for i := range names {
			names[i] = fmt.Sprintf("tenant-%06d", i)
		}
		var req store.Request
		burst := 0
		for i := range 4000 {
			if rng.IntN(50) == 0 {
				at = at.Add(time.Duration(rng.IntN(40)) * time.Second) // across 11:00 now and then
			}
			if i == DefaultTenants+100 {
				a.flush() // the first 1,100 tenants aggregated: the cap is reached
				b.flush()
			}
			if burst > 0 {
				burst-- // the same strings again: a run opens
			} else {
				req = store.Request{Tenant: names[i%len(names)], App: pick("sync", "web"), Module: pick("", "Leads"),
					IP: pick("", "10.0.0.1"), User: pick("", "ann"), Method: pick("GET", "POST")}
				if i > len(names) && rng.IntN(2) == 0 {
					burst = rng.IntN(40)
				}
			}
			ten := req.Tenant
			credits, refused := int64(rng.IntN(5)), rng.IntN(8) == 0
			if rng.IntN(100) == 0 {
				credits = creditsMax + int64(rng.IntN(3)) // more than a run holds
			}
			buf := uint64(rng.IntN(3)) << 32
			e := Event{At: at, Tenant: req.Tenant, App: req.App, Module: req.Module, IP: req.IP, User: req.User,
				Method: req.Method, Credits: credits, Refused: refused}
			fa, fb := a.RecordIn(buf, &e), b.RecordRequest(buf, at, &req, credits, refused)
			if fa != fb {
				t.Fatalf("seed %d call %d (%s): RecordIn reports folded %v, RecordRequest %v", seed, i, ten, fa, fb)
			}
			if fa {
				folds++
			}
			if i%97 != 0 {
				continue // runs stay open between the checks (lock closes them)
			}
			for j := range a.shards {
				if b.shards[j].run.state.Load()&runOpen != 0 {
					open++
				}
				a.shards[j].lock()
				b.shards[j].lock()
				ba, bb := a.shards[j].buf, b.shards[j].buf
				if len(ba) != len(bb) || len(ba) > 0 && ba[len(ba)-1] != bb[len(bb)-1] {
					t.Fatalf("seed %d call %d shard %d: buffers differ: %d vs %d events", seed, i, j, len(ba), len(bb))
				}
				a.shards[j].mu.Unlock()
				b.shards[j].mu.Unlock()
			}
			if rng.IntN(500) == 0 {
				a.flush()
				b.flush()
			}
		}
		if folds == 0 || open == 0 {
			t.Fatalf("seed %d: %d calls folded, %d runs found open: the test missed a path", seed, folds, open)
		}
		since, until := at.Add(-48*time.Hour), at.Add(time.Hour)
		ra, rb := a.TenantRows(since, until), b.TenantRows(since, until)
		if fmt.Sprint(ra) != fmt.Sprint(rb) {
			t.Fatalf("seed %d: rows differ:\n%v\n%v", seed, ra, rb)
		}
		if len(ra) < 2 {
			t.Fatalf("seed %d: %d tenant rows, want several", seed, len(ra))
		}
		for _, dim := range []Dimension{App, Module, IP, User, Method} {
			ta, tb := a.Top(Other, dim, since, until, 10), b.Top(Other, dim, since, until, 10)
			if fmt.Sprint(ta) != fmt.Sprint(tb) {
				t.Fatalf("seed %d dimension %d: Other's rows differ:\n%v\n%v", seed, dim, ta, tb)
			}
		}
	}
}
