package usage

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hostileNames are keys a client may send: huge, not UTF-8, control
// characters, the fold bucket's name and its case variants, one name in
// two Unicode normalisations, Outside, empty.
func hostileNames() []string {
	return []string{
		"", Other, "Other", "OTHER", "other ", " other", Outside,
		"caf\u00e9", "cafe\u0301", // NFC and NFD of one name
		"\x00", "\r\n", "\x1b[31mred", "\xff\xfe", "a\xffb",
		strings.Repeat("x", 1<<16), strings.Repeat("\xff", 1000), "\xff" + strings.Repeat("a", 1000),
		strings.Repeat("é", 1000) + "\xff",
		"<script>alert(1)</script>", "=cmd|' /C calc'!A0",
	}
}

// A flood of distinct and hostile names in every dimension and tenant
// stays within the documented bounds (at most DefaultTenants tenants and
// Other; per tenant-hour, at most maxPerDimension keys and Other in each
// dimension; no key longer than MaxKeyBytes), and every credit, call and
// refusal recorded is still counted: in the tenants' rows, and in each
// dimension's rows of each tenant.
func TestUsageHostileFloodBoundedAndExact(t *testing.T) {
	const maxPerDim, hours = 20, 3
	u := newStats(t, 2*time.Hour, maxPerDim)
	names := hostileNames()
	var want Count
	perTenant := map[string]Count{}
	i := 0
	for h := range hours {
		at := t0.Add(time.Duration(h) * time.Hour)
		for n := range 3000 {
			var tenant string
			switch {
			case n%7 == 0:
				tenant = names[n%len(names)]
			default:
				tenant = fmt.Sprintf("t%d", (n*31+h)%1500)
			}
			name := func(p string) string {
				if n%3 == 0 {
					return names[(n/3+len(p))%len(names)]
				}
				return fmt.Sprintf("%s%d-%d", p, n, h)
			}
			credits, refused := int64(n%5+1), n%11 == 0
			record(u, at, tenant, name("a"), name("m"), name("i"), name("u"), name("M"), credits, refused)
			c := Count{Credits: credits, Calls: 1}
			if refused {
				c = Count{Refused: 1}
			}
			want.plus(c)
			if h > 0 { // the first hour leaves the retention
				pc := perTenant[tenant]
				pc.plus(c)
				perTenant[tenant] = pc
			}
			i++
		}
	}
	_ = i
	tenants := u.Tenants()
	if len(tenants) > DefaultTenants+1 {
		t.Fatalf("%d tenants kept", len(tenants))
	}
	since, until := t0.Add(time.Hour), t0.Add(hours*time.Hour)
	var got Count
	for _, c := range u.TenantRows(since, until) {
		got.plus(Count{Credits: c.Credits, Calls: c.Calls, Refused: c.Refused})
	}
	var wantKept Count
	for _, c := range perTenant {
		wantKept.plus(c)
	}
	if got != wantKept {
		t.Fatalf("tenant rows add up to %+v, recorded %+v", got, wantKept)
	}
	u.mu.Lock()
	for name, tu := range u.tenants {
		if len(name) > MaxKeyBytes {
			t.Errorf("tenant of %d bytes kept", len(name))
		}
		if len(tu.hours) > 2 {
			t.Errorf("tenant %.20q keeps %d hours", name, len(tu.hours))
		}
		for hr, hu := range tu.hours {
			for d, m := range hu.dims {
				if len(m) > maxPerDim+1 {
					t.Errorf("tenant %.20q hour %d dimension %d keeps %d keys", name, hr, d, len(m))
				}
				for k := range m {
					if len(k) > MaxKeyBytes {
						t.Errorf("key of %d bytes kept", len(k))
					}
				}
			}
		}
	}
	u.mu.Unlock()
	for _, tenant := range tenants {
		total := Count{}
		for _, p := range u.Series(tenant, since, until) {
			total.plus(Count{Credits: p.Credits, Calls: p.Calls, Refused: p.Refused})
		}
		for d := range numDims {
			var sum Count
			for _, c := range u.Rows(tenant, d, since, until, 5) {
				sum.plus(Count{Credits: c.Credits, Calls: c.Calls, Refused: c.Refused})
			}
			if sum != total {
				t.Fatalf("tenant %.20q dimension %d: rows add up to %+v, series %+v", tenant, d, sum, total)
			}
		}
	}
}

// Times past the range of int64 nanoseconds (years before 1678 or after
// 2262) are still ordered: an "all time" query, from the zero Time to a
// far date, finds the hours recorded, and an event dated 2^64 ns (584
// years) after another is not counted in the other's hour.
func TestUsageFarDates(t *testing.T) {
	u := newStats(t, 0, 100)
	record(u, t0, "t", "app", "", "", "", "", 3, false)
	if got := u.Series("t", time.Time{}, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)); len(got) != 1 || got[0].Credits != 3 {
		t.Errorf("all time: %+v, want t0's hour with 3 credits", got)
	}
	wrapped := time.Unix(t0.Unix()+18446744073, 709551616) // t0 + 2^64 ns: year 2610
	record(u, wrapped, "t", "app", "", "", "", "", 5, false)
	if got := u.Series("t", t0, t0.Add(time.Hour)); len(got) != 1 || got[0].Credits != 3 {
		t.Fatalf("t0's hour: %+v, want 3 credits (the event of %v is not in it)", got, wrapped.Year())
	}
}

// A long key that is not valid UTF-8 is kept as its first bytes (made
// valid), "…" and a hash, as a valid one is (MaxKeyBytes), not as the
// hash alone: clip
// cut its prefix until the prefix was valid, which for a key with an
// invalid byte near its start is until nothing was left (and took a
// validation per byte cut, quadratic in MaxKeyBytes, on the aggregator's
// path for every event with such a key).
func TestUsageLongKeyNotUTF8(t *testing.T) {
	u := newStats(t, 0, 100)
	for i, k := range []string{"\xff" + strings.Repeat("a", 1000), "ab\xc3" + strings.Repeat("b", 1000), strings.Repeat("\xfe", 1000)} {
		tenant := fmt.Sprint("t", i)
		record(u, t0, tenant, k, "", "", "", "", 1, false)
		var got string
		if rows := u.Top(tenant, App, t0, t0.Add(time.Hour), 10); len(rows) == 1 {
			got = rows[0].Key
		}
		valid := strings.ToValidUTF8(k, "\uFFFD") // as the statistics keep a dimension's key
		if want := valid[:min(len(valid), MaxKeyBytes-len("…")-16-3)]; len(got) > MaxKeyBytes || !strings.HasPrefix(got, want) {
			t.Errorf("a key of %d bytes starting %.8q is kept as %q (%d bytes), want its first bytes", len(k), k, got, len(got))
		}
	}
}

// Settled differences and outside credits under hostile application
// names (past the cap, "other", long, not UTF-8) still add up: the
// application rows' credits are the series' credits.
func TestUsageHostileSettlesAddUp(t *testing.T) {
	u := newStats(t, 0, 5)
	var want int64
	for i, app := range append(hostileNames(), "a", "b", "c", "d", "e", "f", "g") {
		record(u, t0, "t", app, "m", "", "", "", int64(i+1), false)
		u.Settle(t0, "t", app, int64(-i))
		u.RecordOutside(t0, "t", 3)
		want += int64(i+1) - int64(i) + 3
	}
	var rows, series int64
	for _, c := range u.Rows("t", App, t0, t0.Add(time.Hour), 3) {
		rows += c.Credits
	}
	for _, p := range u.Series("t", t0, t0.Add(time.Hour)) {
		series += p.Credits
	}
	if rows != want || series != want {
		t.Fatalf("application rows add up to %d credits, the series to %d, recorded %d", rows, series, want)
	}
}

// A long key is kept as its first bytes, "…" and a hash of the whole
// that a client cannot compute: with a public, unseeded hash (FNV-64a)
// a client could pick long keys that share a kept key offline, merging
// rows or pushing others out. The hash is the same for the same key
// throughout the process: a key recorded twice is one row, and asked
// for by its whole name finds it; a tenant too.
func TestUsageClipHashSeeded(t *testing.T) {
	u := newStats(t, time.Hour, 10)
	long := strings.Repeat("k", 2*MaxKeyBytes)
	tenant := strings.Repeat("t", 2*MaxKeyBytes)
	record(u, t0, tenant, long, "", "", "", "", 1, false)
	record(u, t0, tenant, long, "", "", "", "", 1, false)
	fnvHex := func(k string) string {
		h := fnv.New64a()
		h.Write([]byte(k))
		return strconv.FormatUint(h.Sum64(), 16)
	}
	rows := u.Top(tenant, App, t0, t0.Add(time.Hour), 10)
	if len(rows) != 1 || rows[0].Calls != 2 {
		t.Fatalf("rows %+v, want one with 2 calls", rows)
	}
	if _, sum, _ := strings.Cut(rows[0].Key, "…"); sum == fnvHex(long) {
		t.Errorf("the kept key ends in the key's FNV-64a %s, which a client can compute", sum)
	}
	if ts := u.Tenants(); len(ts) != 1 || strings.HasSuffix(ts[0], "…"+fnvHex(tenant)) {
		t.Errorf("tenants %q: want one, not ending in its name's FNV-64a", ts)
	}
	if p := u.SeriesOf(tenant, App, long, t0, t0.Add(time.Hour)); len(p) != 1 || p[0].Calls != 2 {
		t.Errorf("SeriesOf the whole key: %+v, want 2 calls", p)
	}
}
