package usage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// statsStream drives two statistics with one random stream of events:
// more tenants than DefaultTenants taking turns (with bursts, and names
// that are hostile, not UTF-8, or long, passed as the same strings or as
// equal copies), dimensions repeated and changing (invalid UTF-8, long
// keys), hours moving past the retention (so that tenants are pruned and
// others take their places), refusals, refusals after admission, settles
// and outside credits. Every few thousand events, and at the end, check
// compares every query of the two.
func statsStream(t *testing.T, seed uint64, fast, ref *Stats) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 77))
	names := hostileNames()
	for i := range DefaultTenants + 200 {
		names = append(names, fmt.Sprintf("tenant-%06d", i))
	}
	pick := func(pool []string) string {
		k := pool[rng.IntN(len(pool))]
		if rng.IntN(4) == 0 {
			return strings.Clone(k)
		}
		return k
	}
	apps := []string{"crm-sync", "a\xffb", strings.Repeat("app", 100), Outside, Other, ""}
	users := []string{"user@example.com", "u2", "\xff\xfe", strings.Repeat("é", 200), "x"}
	ips := []string{"192.0.2.1", "2001:db8::1", "10.0.0.1"}
	var e Event
	var hour int
	const steps = 30_000
	for step := range steps {
		if step%2500 == 2499 { // the window moves on: old tenants pruned
			hour++
		}
		if rng.IntN(3) > 0 || step == 0 {
			at := t0.Add(time.Duration(hour-rng.IntN(2))*time.Hour + time.Duration(rng.IntN(3600))*time.Second)
			tenant := names[len(hostileNames())+step%(DefaultTenants+200)] // round robin
			if rng.IntN(8) == 0 {
				tenant = pick(names)
			}
			e = Event{At: at, Tenant: tenant, App: pick(apps), Module: pick([]string{"Leads", "Deals"}),
				IP: pick(ips), User: pick(users), Method: pick([]string{"GET", "POST"}),
				Credits: rng.Int64N(5), Refused: rng.IntN(10) == 0}
			if rng.IntN(4) > 0 { // mostly the same keys as a tenant's last
				e.App, e.Module, e.IP, e.User, e.Method = "crm-sync", "Leads", "192.0.2.1", "user@example.com", "GET"
			}
		}
		buf := uint64(rng.IntN(3)) << 32
		switch r := rng.IntN(40); {
		case r == 0:
			d := rng.Int64N(5) - 2
			fast.SettleIn(buf, e.At, e.Tenant, e.App, d)
			ref.SettleIn(buf, e.At, e.Tenant, e.App, d)
		case r == 1 && !e.Refused:
			fast.RefuseIn(buf, &e)
			ref.RefuseIn(buf, &e)
		case r == 2: // RecordOutside, into buf
			fast.SettleIn(buf, e.At, e.Tenant, Outside, 3)
			ref.SettleIn(buf, e.At, e.Tenant, Outside, 3)
		default:
			fast.RecordIn(buf, &e)
			ref.RecordIn(buf, &e)
		}
		if step%5000 == 4999 || step == steps-1 {
			compareStats(t, fast, ref, rng, step == steps-1, fmt.Sprintf("seed %d step %d", seed, step))
		}
	}
}

// compareStats compares the two statistics' every query: the tenants and
// their rows and names, and, for all tenants or a sample, their series,
// tops, rows and breakdowns by every dimension.
func compareStats(t *testing.T, fast, ref *Stats, rng *rand.Rand, all bool, what string) {
	t.Helper()
	since, until := t0.Add(-48*time.Hour), t0.Add(48*time.Hour)
	same := func(q string, a, b any) {
		t.Helper()
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: %s = %v, reference %v", what, q, a, b)
		}
	}
	byKey := func(c []Count) []Count {
		return slices.SortedFunc(slices.Values(c), func(a, b Count) int { return strings.Compare(a.Key, b.Key) })
	}
	tenants := fast.Tenants()
	same("Tenants", tenants, ref.Tenants())
	same("TenantRows", byKey(fast.TenantRows(since, until)), byKey(ref.TenantRows(since, until)))
	for i, tenant := range tenants {
		if !all && i%37 != rng.IntN(37) && tenant != Other {
			continue
		}
		q := fmt.Sprintf("tenant %q", tenant)
		n1, ok1 := fast.TenantName(tenant)
		n2, ok2 := ref.TenantName(tenant)
		same(q+" TenantName", []any{n1, ok1}, []any{n2, ok2})
		same(q+" Series", fast.Series(tenant, since, until), ref.Series(tenant, since, until))
		for d := range numDims {
			same(fmt.Sprint(q, " Top ", d), fast.Top(tenant, d, since, until, 1<<20), ref.Top(tenant, d, since, until, 1<<20))
			same(fmt.Sprint(q, " Rows ", d), fast.Rows(tenant, d, since, until, 3), ref.Rows(tenant, d, since, until, 3))
			same(fmt.Sprint(q, " SeriesOf ", d), fast.SeriesOf(tenant, d, "crm-sync", since, until),
				ref.SeriesOf(tenant, d, "crm-sync", since, until))
		}
		b1, err1 := fast.Breakdown(tenant, App, "crm-sync", User, since, until, 3)
		b2, err2 := ref.Breakdown(tenant, App, "crm-sync", User, since, until, 3)
		same(q+" Breakdown", []any{b1, err1}, []any{b2, err2})
	}
}

// The index of kept tenants (findTenant) skips tenantKey and the map: fed
// the same streams, statistics with it answer every query as statistics
// without it (noIndex), which look every tenant up in the map.
func TestTenantIndexMatchesMap(t *testing.T) {
	for seed := range uint64(2) {
		fast, ref := newStats(t, 3*time.Hour, 4), newStats(t, 3*time.Hour, 4)
		// Before any event (the drainer reads them after a kick): the
		// filter's seed decides which tenants pass it, which folds an
		// event recorded at the cap as it is recorded or not (see Stats).
		ref.noIndex, ref.filter.seed = true, fast.filter.seed
		// No drainer: aggregation then happens at the same events in both
		// (a full queue, a query), and so does the filter's folding.
		for _, u := range []*Stats{fast, ref} {
			if err := u.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		statsStream(t, seed, fast, ref)
		fast.mu.Lock()
		n := 0
		for _, tu := range fast.index {
			if tu != nil {
				n++
				if fast.tenants[tu.key] != tu {
					t.Fatalf("index holds %q, not kept", tu.key)
				}
			}
		}
		fast.mu.Unlock()
		if n < DefaultTenants/2 {
			t.Fatalf("seed %d: %d tenants indexed, want most of %d", seed, n, DefaultTenants)
		}
	}
}

// aggregate applies each event of a batch as a run of its own: RecordIn,
// RefuseIn and SettleIn (push) merge a decision into the buffer's last
// event when it has that event's keys, so no two neighbours in a shard's
// buffer, of which batches are made, have the same keys. Random streams
// (bursts, the same strings and equal copies, refusals, refusals after
// admission, settles, open runs) into three buffers, each checked after
// every call.
func TestBatchNeighboursDiffer(t *testing.T) {
	u := newStats(t, 0, 0)
	if err := u.Close(context.Background()); err != nil { // no drainer: buffers read without races
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 77))
	pick := func(pool ...string) string {
		k := pool[rng.IntN(len(pool))]
		if rng.IntN(4) == 0 {
			return strings.Clone(k)
		}
		return k
	}
	var e Event
	for step := range 50_000 {
		if rng.IntN(3) == 0 || step == 0 {
			e = Event{At: t0.Add(time.Duration(rng.IntN(2)) * time.Hour), Tenant: pick("t1", "t2", "tenant-000003", "a\xffb"),
				App: pick("crm", "x", Outside), Module: pick("Leads"), IP: pick("192.0.2.1", "10.0.0.1"), User: pick("u", ""),
				Method: pick("GET", "POST"), Credits: rng.Int64N(3), Refused: rng.IntN(10) == 0}
		}
		buf := uint64(rng.IntN(3)) << 32
		switch rng.IntN(20) {
		case 0:
			u.SettleIn(buf, e.At, e.Tenant, e.App, rng.Int64N(3)-1)
		case 1:
			u.RefuseIn(buf, &e)
		default:
			u.RecordIn(buf, &e)
		}
		sh := u.shardOf(buf)
		sh.lock() // closes an open run into the last event
		for i := 1; i < len(sh.buf); i++ {
			if a, b := &sh.buf[i-1], &sh.buf[i]; a.tenant == b.tenant && a.hasRun(b.hour, b.adjust, b.app, b.module, b.ip, b.user, b.meth) {
				t.Fatalf("step %d: events %d and %d of a buffer have the same keys: %+v", step, i-1, i, *b)
			}
		}
		sh.mu.Unlock()
	}
}
