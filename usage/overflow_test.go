package usage

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// Credits near the int64 bounds saturate instead of wrapping: a client's
// stats take a cost or outside credits from a server's headers, and a
// huge one (or many large ones) summed must not turn into a negative (or
// a small) number of credits. Each sum is hit: merged in the buffer (the
// same keys), in a run (consecutive events), in an hour's rows and
// breakdowns (other keys), over hours in the queries, in the folded tail,
// and settled differences and outside credits, both ways.
func TestUsageCreditsSaturate(t *testing.T) {
	const big = math.MaxInt64 - 1
	u := newStats(t, 48*time.Hour, 2)
	t1 := t0.Add(time.Hour)
	for _, at := range []time.Time{t0, t1} {
		for _, app := range []string{"a", "a", "b", "c", "d"} {
			record(u, at, "t", app, "m", "", "bob", "GET", big, false)
		}
		u.RecordOutside(at, "t", big)
		u.RecordOutside(at, "neg", math.MinInt64+1)
		u.RecordOutside(at, "neg", math.MinInt64+1)
	}
	since, until := t0, t0.Add(2*time.Hour)
	check := func(what string, got, want int64) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %d credits, want %d", what, got, want)
		}
	}
	for _, p := range u.Series("t", since, until) {
		check("series hour "+p.Hour.String(), p.Credits, math.MaxInt64)
	}
	for _, c := range u.Rows("t", App, since, until, 1) {
		check("app row "+c.Key, c.Credits, math.MaxInt64)
	}
	for _, c := range u.Top("t", Module, since, until, 5) {
		check("module row "+c.Key, c.Credits, math.MaxInt64)
	}
	for _, c := range u.TenantRows(since, until) {
		want := int64(math.MaxInt64)
		if c.Key == "neg" {
			want = math.MinInt64
		}
		check("tenant row "+c.Key, c.Credits, want)
	}
	b, err := u.Breakdown("t", App, "a", User, since, until, 5)
	if err != nil {
		t.Fatal(err)
	}
	check("breakdown total", b.Total.Credits, math.MaxInt64)
	for _, c := range b.Rows {
		check("breakdown row "+c.Key, c.Credits, math.MaxInt64)
	}
}

// Count.Add's one-test path (every operand in [-2^62, 2^62)) gives what
// addSat gives field by field, at the edges of that range and past them.
func TestCountAddMatchesAddSat(t *testing.T) {
	const h = 1 << 62
	edges := []int64{0, 1, -1, 2, h - 1, h, h + 1, -h, -h - 1, -h + 1, math.MaxInt64, math.MaxInt64 - 1,
		math.MinInt64, math.MinInt64 + 1, math.MaxInt64 / 2, math.MinInt64 / 2}
	r := rand.New(rand.NewPCG(17, 77))
	for range 20000 {
		edges = append(edges[:16], r.Int64()>>r.IntN(64), -r.Int64()>>r.IntN(64))
		pick := func() int64 { return edges[r.IntN(len(edges))] }
		c, d := Count{Key: "k", Credits: pick(), Calls: pick(), Refused: pick()}, Count{Credits: pick(), Calls: pick(), Refused: pick()}
		want := Count{Key: "k", Credits: addSat(c.Credits, d.Credits), Calls: addSat(c.Calls, d.Calls), Refused: addSat(c.Refused, d.Refused)}
		got := c
		got.Add(d)
		if got != want {
			t.Fatalf("%+v.Add(%+v) = %+v, want %+v", c, d, got, want)
		}
	}
}
