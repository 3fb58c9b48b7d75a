package usage

import (
	"maps"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Reviewer-126: goroutines race on one shard's open run with keys that
// the run must tell apart by a length alone (prefixes of one string: the
// same data pointer), by a pointer alone (empty keys from two places,
// which count alike), and by the hour, in short bursts, so that the run
// closes and opens again (another tag, other keys) all the time: every
// decision counts under its own application, method and hour, never in a
// run opened for other keys. (The tests before raced on runs with one set
// of keys, or checked the tenant's totals only.)
func TestOpenRunConcurrentKeysR126(t *testing.T) {
	base := "prefixes"
	empty := base[4:4]
	apps := []string{base[:3], base[:5], base, "a"}
	methods := []string{"", empty, base[:3], "GET"}
	type key struct {
		dim  Dimension
		key  string
		hour int64
	}
	const workers, perWorker = 4, 30_000
	u := newStats(t, 0, 100)
	var wants [workers]map[key]int64
	var joined atomic.Int64 // decisions counted in an open run (its counts grew)
	var wg sync.WaitGroup
	for g := range workers {
		wants[g] = map[key]int64{}
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 126))
			e := Event{Tenant: "t"}
			for i := 0; i < perWorker; {
				e.App, e.Method = apps[rng.IntN(len(apps))], methods[rng.IntN(len(methods))]
				e.At = t0.Add(time.Duration(rng.IntN(2)) * time.Hour)
				for range 1 + rng.IntN(4) {
					e.Credits = 1 + rng.Int64N(3)
					r := &u.shardOf(0).run
					w := r.state.Load()
					u.RecordIn(0, &e)
					if x := r.state.Load(); w&runOpen != 0 && x&(runOpen|tagMask) == w&(runOpen|tagMask) && x != w {
						joined.Add(1)
					}
					wants[g][key{App, e.App, hourOf(e.At)}] += e.Credits
					wants[g][key{Method, e.Method, hourOf(e.At)}] += e.Credits
					i++
				}
			}
		})
	}
	wg.Wait()
	if n := joined.Load(); n < perWorker/2 {
		t.Fatalf("%d decisions joined an open run: the test missed its path", n)
	}
	want := map[key]int64{}
	for _, w := range wants {
		for k, c := range w {
			want[k] += c
		}
	}
	got := map[key]int64{}
	for h := range int64(2) {
		since := t0.Add(time.Duration(h) * time.Hour)
		for _, dim := range []Dimension{App, Method} {
			for _, c := range u.Top("t", dim, since, since.Add(time.Hour), 100) {
				got[key{dim, c.Key, hourOf(since)}] = c.Credits
			}
		}
	}
	if !maps.Equal(got, want) {
		t.Fatalf("credits by dimension, key and hour:\n%v\nwant\n%v", got, want)
	}
}
