package usage

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/creditgate/creditgate/internal/strhash"
)

func TestUsageTopAndSeries(t *testing.T) {
	u := newStats(t, 0, 3)
	// Each request's events are aggregated before the next request's
	// (u.Tenants flushes): which key folds at the cap depends on order.
	req := func(at time.Time, app, ip string, n int64) {
		u.Record(Event{At: at, Tenant: "o", App: app, Module: "Leads", IP: ip, User: "u1", Method: "GET", Credits: n})
		u.Tenants()
	}
	req(t0, "crm", "1.1.1.1", 5)
	req(t0.Add(time.Minute), "crm", "1.1.1.1", 5)
	req(t0.Add(time.Minute), "sync", "2.2.2.2", 20)
	req(t0.Add(2*time.Hour), "crm", "3.3.3.3", 1)
	req(t0.Add(2*time.Hour), "bi", "4.4.4.4", 1)
	req(t0.Add(2*time.Hour), "x", "5.5.5.5", 2) // 3 apps and 3 IPs in this hour: the cap
	// A refusal.
	u.Record(Event{At: t0.Add(2 * time.Hour), Tenant: "o", App: "crm", Method: "POST", Credits: 999, Refused: true})
	u.Tenants()
	// Settle: charged 5, real cost 2. "sync" is the 4th app of the hour and
	// brings more than the smallest, so the tail folds into "other" instead:
	// bi (1 credit, 1 call; crm has a refusal more). Its settled difference
	// follows it to its row.
	u.Record(Event{At: t0.Add(2 * time.Hour), Tenant: "o", App: "sync", Credits: 5})
	u.Settle(t0.Add(2*time.Hour), "o", "sync", -3)

	top := u.Top("o", App, t0, t0.Add(3*time.Hour), 10)
	want := []Count{{"sync", 22, 2, 0}, {"crm", 11, 3, 1}, {"x", 2, 1, 0}, {Other, 1, 1, 0}}
	if fmt.Sprint(top) != fmt.Sprint(want) {
		t.Fatalf("top apps\n got %v\nwant %v", top, want)
	}
	if top := u.Top("o", App, t0, t0.Add(3*time.Hour), 1); len(top) != 1 || top[0].Key != "sync" {
		t.Fatalf("top 1: %v", top)
	}
	ips := u.Top("o", IP, t0.Add(2*time.Hour), t0.Add(3*time.Hour), 10)
	// The refusal without an IP brings less than the smallest of the three
	// IPs: it is the tail and folds. The sync call without an IP brings
	// more: 4.4.4.4 (tied with 3.3.3.3, the greater key) folds instead.
	wantIPs := []Count{{"", 5, 1, 0}, {"5.5.5.5", 2, 1, 0}, {"3.3.3.3", 1, 1, 0}, {Other, 1, 1, 1}}
	if fmt.Sprint(ips) != fmt.Sprint(wantIPs) {
		t.Fatalf("ips in hour 2 (cap 3, the tail folded)\n got %v\nwant %v", ips, wantIPs)
	}
	series := u.Series("o", t0, t0.Add(3*time.Hour))
	if len(series) != 2 || series[0].Calls != 3 || series[0].Credits != 30 ||
		series[1].Calls != 4 || series[1].Refused != 1 || series[1].Credits != 6 || !series[0].Hour.Equal(t0) {
		t.Fatalf("series %+v", series)
	}
	if got := u.Series("o", t0.Add(time.Hour), t0.Add(2*time.Hour)); len(got) != 0 {
		t.Fatalf("empty hour: %+v", got)
	}
	if u.Top("nobody", App, t0, t0.Add(time.Hour), 5) != nil && len(u.Top("nobody", App, t0, t0.Add(time.Hour), 5)) != 0 {
		t.Fatal("unknown tenant")
	}
}

func TestUsageRetention(t *testing.T) {
	u := newStats(t, 48*time.Hour, 10)
	record(u, t0, "o", "a", "", "", "", "GET", 1, false)
	record(u, t0.Add(47*time.Hour), "o", "a", "", "", "", "GET", 1, false)
	if got := u.Series("o", t0, t0.Add(100*time.Hour)); len(got) != 2 {
		t.Fatalf("within retention: %+v", got)
	}
	record(u, t0.Add(49*time.Hour), "o", "a", "", "", "", "GET", 1, false)
	if got := u.Series("o", t0, t0.Add(100*time.Hour)); len(got) != 3 {
		t.Fatalf("one event moved the window (see apply): %+v", got)
	}
	record(u, t0.Add(49*time.Hour), "o", "b", "", "", "", "GET", 1, false) // the second: the window moves
	if got := u.Series("o", t0, t0.Add(100*time.Hour)); len(got) != 2 || !got[0].Hour.Equal(t0.Add(47*time.Hour)) {
		t.Fatalf("after retention: %+v", got)
	}
	record(u, t0, "o", "a", "", "", "", "GET", 1, false) // too old: dropped
	if got := u.Series("o", t0, t0.Add(time.Hour)); len(got) != 0 {
		t.Fatalf("old record kept: %+v", got)
	}
}

func TestUsageTenantCap(t *testing.T) {
	u := newStats(t, 0, 10)
	for i := 0; i < DefaultTenants+50; i++ {
		record(u, t0, fmt.Sprintf("t%d", i), "a", "", "", "", "GET", 1, false)
	}
	ts := u.Tenants()
	if len(ts) != DefaultTenants+1 {
		t.Fatalf("%d tenants kept", len(ts))
	}
	if s := u.Series(Other, t0, t0.Add(time.Hour)); len(s) != 1 || s[0].Calls != 50 {
		t.Fatalf("other: %+v", s)
	}
}

func TestUsageRecordAllocs(t *testing.T) {
	u := newStats(t, 0, 10)
	allocs := testing.AllocsPerRun(5000, func() {
		record(u, t0, "o", "a", "m", "ip", "u", "GET", 1, false)
	})
	if allocs > 0.01 {
		t.Fatalf("Record allocates %v per call", allocs)
	}
}

// TestUsageMatchesModel records random bursts (repeated keys, which push
// merges, and alternating ones, which it must not), refusals and settled
// differences from several goroutines, and checks every total against a plain
// count of what was recorded. The caps are high enough that nothing folds.
func TestUsageMatchesModel(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 3))
		u := newStats(t, 0, 1000)
		tenants, apps, methods := []string{"t1", "t2"}, []string{"a", "b", "c"}, []string{"GET", "POST"}
		type key struct{ tenant, dim, k string }
		want := map[key]Count{}
		add := func(tenant, dim, k string, c Count) {
			w := want[key{tenant, dim, k}]
			w.plus(c)
			want[key{tenant, dim, k}] = w
		}
		type ev struct {
			tenant, app, meth string
			credits           int64
			refused, adjust   bool
		}
		var evs []ev
		for range 2000 {
			e := ev{tenant: tenants[rng.IntN(2)], app: apps[rng.IntN(3)], meth: methods[rng.IntN(2)], credits: rng.Int64N(5)}
			switch rng.IntN(10) {
			case 0:
				e.refused = true
			case 1:
				e.adjust, e.credits = true, rng.Int64N(7)-3
			}
			for range 1 + rng.IntN(4) { // bursts of the same keys
				evs = append(evs, e)
			}
		}
		var wg sync.WaitGroup
		for g := range 3 {
			wg.Go(func() {
				for i := g; i < len(evs); i += 3 {
					e := evs[i]
					if e.adjust {
						u.SettleIn(strhash.String(u.seed, e.tenant), t0, e.tenant, e.app, e.credits)
					} else {
						record(u, t0, e.tenant, e.app, "m", "ip", "u", e.meth, e.credits, e.refused)
					}
				}
			})
		}
		wg.Wait()
		for _, e := range evs {
			c := Count{Credits: e.credits, Calls: 1}
			switch {
			case e.adjust:
				c.Calls = 0
			case e.refused:
				c = Count{Refused: 1}
			}
			add(e.tenant, "app", e.app, c)
			if !e.adjust {
				add(e.tenant, "method", e.meth, c)
			}
		}
		for _, tenant := range tenants {
			for _, dim := range []struct {
				name string
				d    Dimension
			}{{"app", App}, {"method", Method}} {
				for _, c := range u.Top(tenant, dim.d, t0, t0.Add(time.Hour), 100) {
					w := want[key{tenant, dim.name, c.Key}]
					if c.Credits != w.Credits || c.Calls != w.Calls || c.Refused != w.Refused {
						t.Fatalf("seed %d: %s %s %q = %+v, want %+v", seed, tenant, dim.name, c.Key, c, w)
					}
					delete(want, key{tenant, dim.name, c.Key})
				}
			}
		}
		for k, w := range want {
			if w != (Count{}) {
				t.Fatalf("seed %d: %+v missing from Top (want %+v)", seed, k, w)
			}
		}
	}
}

// At the cap the tail folds: a key that brings more than the smallest gets a
// row even when it arrives last, and every credit, call and refusal is still
// counted exactly once, in some row or in Other.
func TestUsageFoldsTheTail(t *testing.T) {
	u := newStats(t, 0, 3)
	for i := range 10 {
		record(u, t0, "o", fmt.Sprintf("small%d", i), "", "", "", "GET", 1, false)
	}
	record(u, t0, "o", "heavy", "", "", "", "GET", 50, false)
	top := u.Top("o", App, t0, t0.Add(time.Hour), 10)
	if len(top) != 4 || top[0].Key != "heavy" || top[0].Credits != 50 || top[1].Key != Other || top[1].Credits != 8 {
		t.Fatalf("top apps: %v", top)
	}

	rng := rand.New(rand.NewPCG(5, 8))
	for seed := range 50 {
		u := newStats(t, 0, 1+seed%4)
		var want Count
		for range 300 {
			c := Count{Credits: rng.Int64N(20), Calls: 1}
			refused := rng.IntN(5) == 0
			if refused {
				c = Count{Refused: 1}
			}
			want.plus(c)
			record(u, t0, "o", fmt.Sprintf("a%d", rng.IntN(12)), "", fmt.Sprintf("ip%d", rng.IntN(30)), "", "GET", c.Credits, refused)
		}
		for _, d := range []Dimension{App, IP} {
			var got Count
			rows := u.Top("o", d, t0, t0.Add(time.Hour), 100)
			for _, c := range rows {
				got.plus(c)
			}
			got.Key = ""
			if got != want || len(rows) > 1+(1+seed%4) {
				t.Fatalf("seed %d dim %d: rows %v sum to %+v, want %+v", seed, d, rows, got, want)
			}
		}
	}
}

// Shards are 256 bytes apart, so no two share a cache line however the
// Usage is aligned, and an open run's fields (what a decision in it
// reads) come first, together.
func TestUsageShardSize(t *testing.T) {
	if sz := unsafe.Sizeof(shard{}); sz != 256 {
		t.Fatalf("shard is %d bytes, want 256", sz)
	}
	if off, size := unsafe.Offsetof(shard{}.run), unsafe.Sizeof(openRun{}); off != 0 || size != 120 {
		t.Fatalf("the run's fields are bytes %d to %d of the shard, want 0 to 120", off, off+size)
	}
}

// A query sees every event whose push returned before it started, and in
// the order pushed, while another goroutine fills the same shard (batches
// leaving it as the query runs), with and without a drainer. Per hour: a
// call of "a" (10 credits), one of "b" (100) and b's settled difference
// (-99), at a cap of one key: in that order b takes the row and a folds;
// the difference before its call would fold instead and leave b at 100.
func TestUsageQuerySeesPushed(t *testing.T) {
	for _, drainer := range []bool{false, true} {
		t.Run(fmt.Sprintf("drainer=%v", drainer), func(t *testing.T) { usageQuerySeesPushed(t, drainer) })
	}
}

func usageQuerySeesPushed(t *testing.T, drainer bool) {
	// A short retention keeps the queries cheap: bg's events, dated t0,
	// are dropped once aggregated, having filled the shard all the same.
	u := newStats(t, 24*time.Hour, 1)
	h := strhash.String(u.seed, "probe") // every event on the probe's shard
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)
	if !drainer {
		_ = u.Close(context.Background()) // queries do the aggregation
	}
	wg.Go(func() {
		apps := make([]string, 64)
		for i := range apps {
			apps[i] = fmt.Sprintf("bg%d", i)
		}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			recordIn(u, h, t0, "bg", apps[i%len(apps)], "", "", "", "GET", 1, false)
		}
	})
	end := time.Now().Add(2 * time.Second) // a bound for slow machines; before the fix every run failed well within it
	for i := 0; i < 2000 && time.Now().Before(end); i++ {
		at := t0.Add(time.Duration(i) * time.Hour)
		recordIn(u, h, at, "probe", "a", "", "", "", "GET", 10, false)
		recordIn(u, h, at, "probe", "b", "", "", "", "GET", 100, false)
		u.SettleIn(h, at, "probe", "b", -99)
		if s := u.Series("probe", at, at.Add(time.Hour)); len(s) != 1 || s[0].Calls != 2 || s[0].Credits != 11 {
			t.Fatalf("hour %d: series %+v, want 2 calls and 11 credits", i, s)
		}
		top := u.Top("probe", App, at, at.Add(time.Hour), 5)
		if want := []Count{{Other, 10, 1, 0}, {"b", 1, 1, 0}}; fmt.Sprint(top) != fmt.Sprint(want) {
			t.Fatalf("hour %d: apps %v, want %v", i, top, want)
		}
	}
}

// Retention rounds up to whole hours: under an hour keeps the newest hour
// (it kept nothing), 90 minutes two.
func TestUsageRetentionRoundsUp(t *testing.T) {
	for _, c := range []struct {
		retention time.Duration
		hours     int
	}{{time.Nanosecond, 1}, {30 * time.Minute, 1}, {time.Hour, 1}, {90 * time.Minute, 2}} {
		u := newStats(t, c.retention, 10)
		record(u, t0, "o", "a", "", "", "", "GET", 1, false)
		if got := u.Series("o", t0, t0.Add(time.Hour)); len(got) != 1 || got[0].Calls != 1 {
			t.Fatalf("retention %v: %+v, want the call", c.retention, got)
		}
		for i := range 3 { // two events an hour: the second moves the window (see apply)
			record(u, t0.Add(time.Duration(i)*time.Hour), "o", "a", "", "", "", "GET", 1, false)
			record(u, t0.Add(time.Duration(i)*time.Hour), "o", "b", "", "", "", "GET", 1, false)
		}
		if got := u.Series("o", t0, t0.Add(3*time.Hour)); len(got) != c.hours {
			t.Fatalf("retention %v: %+v, want the last %d hours", c.retention, got, c.hours)
		}
	}
}

// One event dated a month ahead (a clock stepped, a wrong now) prunes
// nothing, and the calls after it, dated right, are kept; the window goes
// on following them, and the stray event stays in its own hour.
func TestUsageFutureOutlier(t *testing.T) {
	u := newStats(t, 48*time.Hour, 10)
	rec := func(at time.Time, app string) { record(u, at, "o", app, "", "", "", "GET", 1, false) }
	rec(t0, "a")
	rec(t0.Add(time.Hour), "a")
	stray := t0.Add(31 * 24 * time.Hour)
	rec(stray, "a")
	rec(t0.Add(time.Hour+time.Minute), "b") // the next call, dated right
	got := u.Series("o", t0, stray.Add(time.Hour))
	if len(got) != 3 || !got[0].Hour.Equal(t0) || got[1].Calls != 2 || !got[2].Hour.Equal(stray) {
		t.Fatalf("after a stray event: %+v, want t0, t0+1h (2 calls) and the stray hour", got)
	}
	for i := 2; i <= 72; i++ { // three days of calls, dated right: the window follows them
		rec(t0.Add(time.Duration(i)*time.Hour), "a")
		rec(t0.Add(time.Duration(i)*time.Hour), "b")
	}
	got = u.Series("o", t0, stray.Add(time.Hour))
	if len(got) != 49 || !got[0].Hour.Equal(t0.Add(25*time.Hour)) || !got[48].Hour.Equal(stray) {
		t.Fatalf("after 3 days: %d hours from %v to %v, want hours 25 to 72 and the stray one", len(got), got[0].Hour, got[len(got)-1].Hour)
	}
}

// A real jump forward (a replay after a pause) moves the window with its
// second event: the hours it leaves behind go, and calls dated before it
// are then too old.
func TestUsageJumpForward(t *testing.T) {
	u := newStats(t, 48*time.Hour, 10)
	rec := func(at time.Time, app string) { record(u, at, "o", app, "", "", "", "GET", 1, false) }
	rec(t0, "a")
	rec(t0.Add(time.Hour), "a")
	later := t0.Add(60 * 24 * time.Hour)
	rec(later, "a")
	if got := u.Series("o", t0, later.Add(time.Hour)); len(got) != 3 {
		t.Fatalf("after the jump's first event: %+v, want all three hours", got)
	}
	rec(later.Add(time.Minute), "b")
	if got := u.Series("o", t0, later.Add(time.Hour)); len(got) != 1 || !got[0].Hour.Equal(later) || got[0].Calls != 2 {
		t.Fatalf("after its second: %+v, want the new hour only, with 2 calls", got)
	}
	rec(t0.Add(time.Hour), "a")
	if got := u.Series("o", t0, later.Add(time.Hour)); len(got) != 1 {
		t.Fatalf("a call from before the jump kept: %+v", got)
	}
}

// Whatever the dates, a tenant keeps at most the retention's hours and the
// one latest hour past the window.
func TestUsageHoursBounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	u := newStats(t, 24*time.Hour, 10)
	base := t0
	for i := range 3000 {
		at := base.Add(time.Duration(rng.IntN(30)) * time.Hour)
		switch rng.IntN(20) {
		case 0:
			at = base.Add(time.Duration(rng.IntN(24*400)) * time.Hour) // stray, far ahead
		case 1:
			base = base.Add(time.Duration(rng.IntN(200)) * time.Hour) // time jumps
		}
		record(u, at, "o", fmt.Sprint(i%3), "", "", "", "GET", 1, false)
		u.Tenants() // aggregate
		u.mu.Lock()
		n := len(u.tenants["o"].hours)
		u.mu.Unlock()
		if n > 24+1 {
			t.Fatalf("event %d: %d hours kept, want at most 25", i, n)
		}
	}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newStats returns statistics that the test closes when it ends.
func newStats(t testing.TB, retention time.Duration, maxPerDimension int, opts ...Option) *Stats {
	u := New(retention, maxPerDimension, opts...)
	t.Cleanup(func() { _ = u.Close(context.Background()) })
	return u
}

// record is Record with the event's fields in a row.
func record(u *Stats, at time.Time, tenant, app, module, ip, user, method string, credits int64, refused bool) (folded bool) {
	return u.Record(Event{At: at, Tenant: tenant, App: app, Module: module, IP: ip, User: user, Method: method, Credits: credits, Refused: refused})
}

// recordIn is RecordIn with the event's fields in a row.
func recordIn(u *Stats, buf uint64, at time.Time, tenant, app, module, ip, user, method string, credits int64, refused bool) (folded bool) {
	return u.RecordIn(buf, &Event{At: at, Tenant: tenant, App: app, Module: module, IP: ip, User: user, Method: method, Credits: credits, Refused: refused})
}

// Keys are bounded in bytes (issue #13 item 5): 200 events whose user and
// application are 192 KiB each keep at most MaxKeyBytes of each, distinct
// long keys stay apart, and short ones are untouched.
func TestUsageLongKeys(t *testing.T) {
	u := newStats(t, 0, 1000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 200 {
		big := strings.Repeat("u", 192<<10) + fmt.Sprint(i)
		record(u, t0, "o", big, "Leads", "192.0.2.1", big, "GET", 1, false)
	}
	top := u.Top("o", User, t0, t0.Add(time.Hour), 1000)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if len(top) != 200 {
		t.Fatalf("%d users, want 200 distinct", len(top))
	}
	for _, c := range top {
		if len(c.Key) > MaxKeyBytes || !strings.HasPrefix(c.Key, "uuu") {
			t.Fatalf("a key of %d bytes kept: %.40q", len(c.Key), c.Key)
		}
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 2<<20 {
		t.Fatalf("the statistics hold %d bytes after 200 long keys", grew)
	}
	if got := u.Top("o", Module, t0, t0.Add(time.Hour), 1); got[0].Key != "Leads" {
		t.Fatalf("a short key changed: %v", got)
	}
	if clip(strings.Repeat("é", 300)) == clip(strings.Repeat("é", 301)) || !utf8.ValidString(clip(strings.Repeat("é", 300))) {
		t.Fatal("clip merged two keys or cut a character")
	}
}

// A decision never merges into a settled difference with the same keys in
// the buffer: a settle's keys are its application's alone, and a call with
// no other keys has the same ones. The call keeps its count, by module too.
func TestRecordAfterSettleSameKeys(t *testing.T) {
	u := newStats(t, 0, 100)
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	u.SettleIn(7, at, "t", "app", 5)
	recordIn(u, 7, at, "t", "app", "", "", "", "", 2, false)
	rows := u.Rows("t", App, at.Add(-time.Hour), at.Add(time.Hour), 10)
	if len(rows) != 1 || rows[0].Key != "app" || rows[0].Calls != 1 || rows[0].Credits != 7 {
		t.Fatalf("rows by app = %+v, want app with 1 call and 7 credits", rows)
	}
	mods := u.Rows("t", Module, at.Add(-time.Hour), at.Add(time.Hour), 10)
	if len(mods) != 1 || mods[0].Calls != 1 || mods[0].Credits != 2 {
		t.Fatalf("rows by module = %+v, want one row with 1 call and 2 credits", mods)
	}
}

// A key named "other" (a client may call itself that) shares Other's row,
// also when it is the key that first reaches the cap: the tail it pushes
// out folds into Other, and is not lost when "other" takes its row.
func TestUsageOtherKeyAtCap(t *testing.T) {
	u := newStats(t, 0, 2, WithBreakdownCaps(2, 2))
	for i, k := range []string{"a", "b", Other} { // each heavier than the last
		record(u, t0, "o", k, "m", "ip", k, "GET", int64(1+2*i), false)
		u.Tenants() // aggregated in turn: "a" is the tail when Other comes
	}
	const want = 1 + 3 + 5
	until := t0.Add(time.Hour)
	for _, d := range []Dimension{App, User} {
		var got, bd int64
		for _, c := range u.Rows("o", d, t0, until, 10) {
			got += c.Credits
			if d == App {
				b, err := u.Breakdown("o", App, c.Key, User, t0, until, 10)
				if err != nil {
					t.Fatal(err)
				}
				bd += b.Total.Credits
			}
		}
		if got != want || d == App && bd != want {
			t.Fatalf("dimension %d: rows add up to %d credits, breakdown totals to %d, want %d", d, got, bd, want)
		}
	}
}

// A tenant or key longer than MaxKeyBytes is kept clipped, and the queries
// find it by the name it was recorded under, as by its clipped name (which
// Tenants and Rows return): a tenant's dashboard asks with its own name.
func TestUsageQueryLongNames(t *testing.T) {
	u := newStats(t, 0, 1000)
	tenant, app := strings.Repeat("t", MaxKeyBytes+1), strings.Repeat("a", 2*MaxKeyBytes)
	record(u, t0, tenant, app, "m", "ip", "u", "GET", 3, false)
	until := t0.Add(time.Hour)
	for _, name := range []string{tenant, clip(tenant)} {
		for _, key := range []string{app, clip(app)} {
			s, of := u.Series(name, t0, until), u.SeriesOf(name, App, key, t0, until)
			rows := u.Rows(name, App, t0, until, 10)
			b, err := u.Breakdown(name, App, key, User, t0, until, 10)
			if err != nil || len(s) != 1 || s[0].Credits != 3 || len(of) != 1 || of[0].Credits != 3 ||
				len(rows) != 1 || rows[0].Key != clip(app) || b.Total.Credits != 3 || len(b.Rows) != 1 {
				t.Fatalf("tenant of %d bytes, app of %d: series %v, of the app %v, rows %v, breakdown %+v, %v",
					len(name), len(key), s, of, rows, b, err)
			}
		}
	}
}

// A retention of the largest Duration (forever, say) rounds up to whole
// hours past it: Retention says the largest Duration, not a negative one
// (the dashboard's dates older than now less it would all be refused).
func TestUsageRetentionHuge(t *testing.T) {
	for _, r := range []time.Duration{math.MaxInt64, math.MaxInt64 - time.Hour + 1, math.MaxInt64 / time.Hour * time.Hour} {
		if got := newStats(t, r, 0).Retention(); got < r {
			t.Fatalf("retention %v: Retention %v", r, got)
		}
	}
}
