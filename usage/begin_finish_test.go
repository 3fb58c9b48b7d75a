package usage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// Begin and Finish, with other decisions begun, finished and recorded
// between the two (as a limiter's store decides between them on other
// cores), record what RecordIn records of the same decisions in the order
// of their Finish: the same fold reports, the same buffers event for
// event once their runs are closed, the same rows. Runs open and close
// between a Begin and its Finish (another decision's keys close them,
// and a burst opens them again), so a Recording whose run was open at
// Begin often finds it closed, or reopened with another tag, at Finish.
func TestBeginFinishMatchesRecordIn(t *testing.T) {
	type pending struct {
		r        Recording
		req      store.Request
		at       time.Time
		buf      uint64
		credits  int64
		refused  bool
		wasInRun bool
	}
	for seed := range 30 {
		rng := rand.New(rand.NewPCG(uint64(seed), 11))
		a, b := newStats(t, 0, 100), newStats(t, 0, 100)
		for _, u := range []*Stats{a, b} { // aggregated only when the test says
			if err := u.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		b.seed, b.filter.seed = a.seed, a.filter.seed
		at := time.Date(2026, 5, 1, 10, 59, 0, 0, time.UTC)
		pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
		names := make([]string, DefaultTenants+200)
		for i := range names {
			names[i] = fmt.Sprintf("tenant-%06d", i)
		}
		// The strings of a few request shapes, kept: a run opens only for
		// the very same strings.
		shapes := make([]store.Request, 6)
		for i := range shapes {
			shapes[i] = store.Request{App: pick("sync", "web"), Module: pick("", "Leads"), IP: pick("", "10.0.0.1"),
				User: pick("", "ann"), Method: pick("GET", "POST")}
		}
		// The first 1,100 tenants recorded and aggregated: the cap is
		// reached, and most of the last hundred fold.
		for _, n := range names[:DefaultTenants+100] {
			e := Event{At: at, Tenant: n, App: "sync", Credits: 1}
			a.RecordIn(0, &e)
			b.RecordIn(0, &e)
		}
		a.flush()
		b.flush()
		var inFlight []pending
		var cur store.Request
		burst, flushDue, checks := 0, false, 0
		folds, closedBetween, hits, foldedLocked := 0, 0, 0, 0
		finish := func(k int) {
			p := inFlight[k]
			inFlight = append(inFlight[:k], inFlight[k+1:]...)
			if p.r.w != 0 && b.shardOf(p.buf).run.state.Load() != p.r.w {
				closedBetween++ // counted since, or closed, or reopened
			}
			e := Event{At: p.at, Tenant: p.req.Tenant, App: p.req.App, Module: p.req.Module, IP: p.req.IP,
				User: p.req.User, Method: p.req.Method, Credits: p.credits, Refused: p.refused}
			fa, fb := a.RecordIn(p.buf, &e), b.Finish(p.r, &p.req, p.credits, p.refused)
			if fa != fb {
				t.Fatalf("seed %d: RecordIn reports folded %v, Finish %v (%s)", seed, fa, fb, p.req.Tenant)
			}
			if fa {
				folds++
			}
			if p.r.fold&recFolded != 0 && p.r.w == 0 {
				foldedLocked++
			}
			if p.wasInRun {
				hits++
			}
		}
		for i := range 5000 {
			if rng.IntN(50) == 0 && len(inFlight) == 0 {
				at = at.Add(time.Duration(rng.IntN(40)) * time.Second) // across 11:00 now and then
			}
			if i%1500 == 1499 {
				flushDue = true
			}
			if flushDue && len(inFlight) == 0 {
				a.flush() // the tenant cap reached, folds change: with nothing in flight
				b.flush()
				flushDue = false
			}
			// Begin one (most steps), finish one, or both.
			if len(inFlight) < 4 && rng.IntN(3) != 0 {
				if burst > 0 {
					burst-- // the same strings again: a run opens
				} else {
					cur = shapes[rng.IntN(len(shapes))]
					cur.Tenant = names[rng.IntN(len(names))]
					if rng.IntN(2) == 0 {
						burst = rng.IntN(30)
					}
				}
				req := cur
				p := pending{req: req, at: at, buf: uint64(rng.IntN(4)/3) << 32,
					credits: int64(rng.IntN(5)), refused: rng.IntN(8) == 0}
				if rng.IntN(100) == 0 {
					p.credits = creditsMax + 1 // more than a run holds
				}
				inFlight = append(inFlight, p)
				k := len(inFlight) - 1
				inFlight[k].r = b.Begin(p.buf, p.at.Unix(), &inFlight[k].req)
				inFlight[k].wasInRun = inFlight[k].r.w != 0
			}
			if len(inFlight) > 0 && rng.IntN(2) == 0 {
				finish(rng.IntN(len(inFlight)))
			}
			if len(inFlight) == 0 && i%7 == 0 {
				for j := range a.shards {
					a.shards[j].lock()
					b.shards[j].lock()
					ba, bb := a.shards[j].buf, b.shards[j].buf
					if !slices.Equal(ba, bb) {
						t.Fatalf("seed %d step %d shard %d: buffers differ:\n%+v\n%+v", seed, i, j, ba, bb)
					}
					checks++
					a.shards[j].mu.Unlock()
					b.shards[j].mu.Unlock()
				}
			}
		}
		for len(inFlight) > 0 {
			finish(0)
		}
		if folds == 0 || foldedLocked == 0 || hits == 0 || closedBetween == 0 || checks < 100 {
			t.Fatalf("seed %d: %d folded (%d not in a run), %d begun in an open run, %d whose run changed before Finish, %d checks of the buffers: the test missed a path",
				seed, folds, foldedLocked, hits, closedBetween, checks)
		}
		since, until := at.Add(-48*time.Hour), at.Add(time.Hour)
		ra, rb := a.TenantRows(since, until), b.TenantRows(since, until)
		if fmt.Sprint(ra) != fmt.Sprint(rb) {
			t.Fatalf("seed %d: rows differ:\n%v\n%v", seed, ra, rb)
		}
		for _, dim := range []Dimension{App, Module, IP, User, Method} {
			ta, tb := a.Top(Other, dim, since, until, 10), b.Top(Other, dim, since, until, 10)
			if fmt.Sprint(ta) != fmt.Sprint(tb) {
				t.Fatalf("seed %d dimension %d: Other's rows differ:\n%v\n%v", seed, dim, ta, tb)
			}
		}
	}
}

// Begin and Finish on several goroutines, each yielding between the two
// (where a limiter's store decides), with other keys closing the runs now
// and then and queries meanwhile: every count is exact in the end, and a
// query sees at least the decisions finished before it.
func TestBeginFinishConcurrent(t *testing.T) {
	u := newStats(t, 0, 100)
	const workers, perWorker = 4, 10_000
	var finished, started atomic.Int64
	var credits [workers]int64
	var wg sync.WaitGroup
	apps := []string{"a", "b"}
	for g := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 31))
			for range perWorker {
				req := store.Request{Tenant: "t", App: apps[0], Module: "m", Method: "GET"}
				if rng.IntN(300) == 0 {
					req.App = apps[1] // closes the run: the next burst opens it again
				}
				buf := uint64(g%2) << 32
				n := rng.Int64N(3)
				started.Add(1)
				r := u.Begin(buf, t0.Unix(), &req)
				if rng.IntN(4) == 0 {
					runtime.Gosched() // the store's decision
				}
				u.Finish(r, &req, n, false)
				finished.Add(1)
				credits[g] += n
			}
		})
	}
	queryWhileCounting(t, u, &started, &finished, workers*perWorker)
	wg.Wait()
	wantOneRow(t, u, credits[:], workers*perWorker)
}
