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

// RefuseIn turns a recorded call into a refusal in every row that counted
// it: its own, or Other's where the cap folded it (no row of its own with
// negative counts appears), and the tenant's hour; Refuse is the same
// through the tenant's buffer.
func TestUsageRefuseIn(t *testing.T) {
	u := newStats(t, time.Hour, 2)
	for _, app := range []string{"a", "b"} {
		record(u, t0, "t", app, "m", "", "", "", 5, false)
	}
	e := Event{At: t0, Tenant: "t", App: "c", Module: "m", User: "bob", Credits: 1}
	u.RecordIn(7, &e)                                  // c folds into Other: a and b bring more
	record(u, t0, "t", "a", "m", "", "", "", 5, false) // between the call and its refusal
	u.RefuseIn(7, &e)
	e.App = "a"
	u.Record(e)
	u.Refuse(e)
	until := t0.Add(time.Hour)
	want := map[string]Count{"a": {Key: "a", Credits: 10, Calls: 2, Refused: 1}, "b": {Key: "b", Credits: 5, Calls: 1},
		Other: {Key: Other, Refused: 1}}
	rows := u.Rows("t", App, t0, until, 5)
	if len(rows) != len(want) {
		t.Fatalf("rows %+v, want %+v", rows, want)
	}
	for _, c := range rows {
		if c != want[c.Key] {
			t.Errorf("row %+v, want %+v", c, want[c.Key])
		}
	}
	if p := u.Series("t", t0, until); len(p) != 1 || p[0].Credits != 15 || p[0].Calls != 3 || p[0].Refused != 2 {
		t.Errorf("series %+v, want 15 credits, 3 calls, 2 refusals", p)
	}
	if b, _ := u.Breakdown("t", App, "a", User, t0, until, 5); b.Total.Calls != 2 || b.Total.Refused != 1 || b.Total.Credits != 10 {
		t.Errorf("a's breakdown total %+v", b.Total)
	}
}
