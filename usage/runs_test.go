package usage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// Many tenants take turns, each repeating its keys for a while (a tenant's
// run), with queries in between: every query sees exactly what was recorded
// before it, per tenant, application and hour, whether the events sit in
// hours or in a run not yet settled.
func TestUsageRunsMatchModel(t *testing.T) {
	for seed := range uint64(10) {
		rng := rand.New(rand.NewPCG(seed, 5))
		u := newStats(t, 0, 1000)
		const tenants = 40
		apps := []string{"a", "b", "c"}
		type key struct {
			tenant, app string
			hour        int
		}
		want := map[key]Count{}
		cur := make([]string, tenants) // each tenant's current application
		for i := range cur {
			cur[i] = apps[rng.IntN(len(apps))]
		}
		for step := range 4000 {
			i := rng.IntN(tenants)
			if rng.IntN(10) == 0 {
				cur[i] = apps[rng.IntN(len(apps))]
			}
			tenant, hour := fmt.Sprint("t", i), rng.IntN(3)
			at := t0.Add(time.Duration(hour) * time.Hour)
			credits := rng.Int64N(4)
			if rng.IntN(8) == 0 {
				u.Settle(at, tenant, cur[i], credits)
				w := want[key{tenant, cur[i], hour}]
				w.Credits += credits
				want[key{tenant, cur[i], hour}] = w
			} else {
				record(u, at, tenant, cur[i], "m", "ip", "u", "GET", credits, false)
				w := want[key{tenant, cur[i], hour}]
				w.Credits, w.Calls = w.Credits+credits, w.Calls+1
				want[key{tenant, cur[i], hour}] = w
			}
			if step%97 != 0 {
				continue
			}
			q := rng.IntN(tenants)
			tenant = fmt.Sprint("t", q)
			for hour := range 3 {
				at := t0.Add(time.Duration(hour) * time.Hour)
				got := map[string]Count{}
				for _, c := range u.Top(tenant, App, at, at.Add(time.Hour), 100) {
					got[c.Key] = Count{Credits: c.Credits, Calls: c.Calls}
				}
				for _, app := range apps {
					if w := want[key{tenant, app, hour}]; got[app] != w {
						t.Fatalf("seed %d step %d: %s %s hour %d = %+v, want %+v", seed, step, tenant, app, hour, got[app], w)
					}
				}
			}
		}
	}
}

// A tenant's run that the retention leaves behind goes with its hour: it is
// not settled later into an hour that no longer exists, and its tenant goes.
func TestUsageRunPrunedWithItsHour(t *testing.T) {
	u := newStats(t, time.Hour, 100)
	record(u, t0, "old", "a", "m", "ip", "u", "GET", 3, false)
	record(u, t0, "old", "a", "m", "ip", "u", "GET", 3, false)
	later := t0.Add(5 * time.Hour)
	for _, app := range []string{"a", "b"} { // two events (not one burst) move the retention window (see apply)
		record(u, later, "new", app, "m", "ip", "u", "GET", 1, false)
	}
	if got := u.Top("old", App, t0, later.Add(time.Hour), 10); len(got) != 0 {
		t.Fatalf("old tenant's pruned run counted: %+v", got)
	}
	if got := u.Tenants(); !slices.Equal(got, []string{"new"}) {
		t.Fatalf("Tenants() = %v, want [new]", got)
	}
}

// A run keeps keys of its own, not the caller's strings: keys that are
// short slices of a large buffer (a request read whole, say) do not keep
// that buffer alive while the run waits for its tenant's next event or a
// query, which may be days away.
func TestUsageRunKeepsNoCallersBuffer(t *testing.T) {
	u := newStats(t, 0, 100)
	if err := u.Close(context.Background()); err != nil { // the recorder aggregates once the queue is full
		t.Fatal(err)
	}
	const big = 64 << 20
	grew := heapAfter(func() {
		buf := strings.Repeat("x", big)
		recordIn(u, 0, t0, "t", buf[:5], buf[5:9], buf[9:12], buf[12:14], buf[14:15], 1, false)
		for i := range (queueLen + 1) * batchSize { // fill the queue: this aggregates t's event
			recordIn(u, 0, t0, "o", []string{"a", "b"}[i%2], "m", "ip", "u", "GET", 1, false)
		}
	})
	if grew > big/2 {
		t.Fatalf("the statistics grew by %d bytes: a run keeps the caller's buffer of %d", grew, big)
	}
	if got := u.Top("t", App, t0, t0.Add(time.Hour), 10); len(got) != 1 || got[0] != (Count{Key: "xxxxx", Credits: 1, Calls: 1}) {
		t.Fatalf("t's run: %+v", got)
	}
}

// More tenants than DefaultTenants take turns, with long keys, refusals and
// settled differences among their calls, queries in between: the tenants
// past the cap count as Other, and every query (TenantRows, Series, Rows,
// Tenants) sees exactly what was recorded before it, runs pending or not.
func TestUsageRunsTenantCapMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	u := newStats(t, 0, 1000)
	long := strings.Repeat("L", 2*MaxKeyBytes)
	apps := []string{"a", "b", long + "1", long + "2"}
	type key struct{ tenant, app string }
	want, totals := map[key]Count{}, map[string]Count{}
	kept, other := map[string]bool{}, false
	for step := range 20_000 {
		i := rng.IntN(DefaultTenants + 100)
		tenant, app := fmt.Sprint("t", i), apps[rng.IntN(len(apps))]
		if i < 3 { // a few busy tenants repeat their keys
			app = apps[i]
		}
		if !kept[tenant] && len(kept) < DefaultTenants {
			kept[tenant] = true
		}
		folded := tenant
		if !kept[tenant] {
			folded, other = Other, true
		}
		credits := rng.Int64N(5)
		var c Count
		switch rng.IntN(10) {
		case 0:
			u.SettleIn(0, t0, tenant, app, -credits)
			c.Credits = -credits
		case 1:
			recordIn(u, 0, t0, tenant, app, "m", "ip", "u", "GET", credits, true)
			c.Refused = 1
		default:
			recordIn(u, 0, t0, tenant, app, "m", "ip", "u", "GET", credits, false)
			c.Credits, c.Calls = credits, 1
		}
		w, tot := want[key{folded, clip(app)}], totals[folded]
		w.plus(c)
		tot.plus(c)
		want[key{folded, clip(app)}], totals[folded] = w, tot
		if step%499 != 0 {
			continue
		}
		rows := u.TenantRows(t0, t0.Add(time.Hour))
		got := map[string]Count{}
		for _, r := range rows {
			got[r.Key] = Count{Credits: r.Credits, Calls: r.Calls, Refused: r.Refused}
		}
		for tn, w := range totals {
			if w != (Count{}) && got[tn] != w {
				t.Fatalf("step %d: tenant %s = %+v, want %+v", step, tn, got[tn], w)
			}
		}
		if n := len(u.Tenants()); n != len(kept)+btoi(other) {
			t.Fatalf("step %d: %d tenants, want %d", step, n, len(kept)+btoi(other))
		}
		for _, tn := range []string{"t0", "t1", "t2", folded} {
			s := u.Series(tn, t0, t0.Add(time.Hour))
			if w := totals[tn]; (len(s) == 1) != (w != Count{}) || len(s) == 1 && (Count{Credits: s[0].Credits, Calls: s[0].Calls, Refused: s[0].Refused}) != w {
				t.Fatalf("step %d: series of %s = %+v, want %+v", step, tn, s, w)
			}
			for _, r := range u.Rows(tn, App, t0, t0.Add(time.Hour), len(apps)) {
				if w := want[key{tn, r.Key}]; (Count{Credits: r.Credits, Calls: r.Calls, Refused: r.Refused}) != w {
					t.Fatalf("step %d: %s app %.10s = %+v, want %+v", step, tn, r.Key, r, w)
				}
			}
		}
	}
}
