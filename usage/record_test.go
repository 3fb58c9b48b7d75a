package usage

import (
	"math/rand/v2"
	"testing"
	"time"
)

// RecordIn's inline merge must leave the shard buffers exactly as the
// event-building push did, for random mixes of keys, hours, refusals and
// settled differences.
func TestRecordInMatchesPush(t *testing.T) {
	for seed := range 300 {
		rng := rand.New(rand.NewPCG(uint64(seed), 1))
		a, b := newStats(t, 0, 100), newStats(t, 0, 100)
		at := time.Date(2026, 5, 1, 10, 59, 59, 0, time.UTC)
		pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
		for range 50 { // fewer than a batch: everything stays in the buffer
			if rng.IntN(4) == 0 {
				at = at.Add(time.Duration(rng.IntN(3)-1) * time.Second)
			}
			buf := uint64(rng.IntN(2)) << 32
			ten, app := pick("t", "u"), pick("a", "b")
			if rng.IntN(6) == 0 {
				d := int64(rng.IntN(5) - 2)
				a.SettleIn(buf, at, ten, app, d)
				b.SettleIn(buf, at, ten, app, d)
				continue
			}
			e := Event{At: at, Tenant: ten, App: app, Module: pick("", "m"), IP: pick("", "1"), User: pick("", "x"),
				Method: pick("", "GET"), Credits: int64(rng.IntN(4)), Refused: rng.IntN(4) == 0}
			a.RecordIn(buf, &e)
			x := event{hour: hourOf(e.At), tenant: e.Tenant, app: e.App, module: e.Module, ip: e.IP, user: e.User, meth: e.Method}
			if e.Refused {
				x.refused = 1
			} else {
				x.calls, x.credits = 1, e.Credits
			}
			b.push(buf, &x)
		}
		for i := range a.shards {
			a.shards[i].lock() // an open run's counts into its event
			a.shards[i].mu.Unlock()
			ba, bb := a.shards[i].buf, b.shards[i].buf
			if len(ba) != len(bb) {
				t.Fatalf("seed %d shard %d: %d events vs %d", seed, i, len(ba), len(bb))
			}
			for j := range ba {
				if ba[j] != bb[j] {
					t.Fatalf("seed %d shard %d event %d: %+v vs %+v", seed, i, j, ba[j], bb[j])
				}
			}
		}
	}
}
