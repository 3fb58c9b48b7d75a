package usage

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// Helper-83: past the cap, the tenant filter never folds a kept tenant by
// the name its events are recorded with, whether it is kept under that
// name or under a changed key (a name not valid UTF-8, or too long: see
// tenantKey), neither when the tenant was added nor after a prune has set
// the filter anew; and it folds only names not kept, so an event it folds
// as recorded lands where tenantOf would put it (Other).
func TestUsageFilterKeepsRecordedNames(t *testing.T) {
	u := newStats(t, 2*time.Hour, 100) // one buffer: aggregated in the order recorded
	h1, h2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	odd := func(i int) string { // not valid UTF-8, or too long for a key
		switch i % 3 {
		case 0:
			return fmt.Sprint("\xff", i)
		case 1:
			return fmt.Sprint("t\xfe", i, "\xc3")
		}
		return fmt.Sprint(strings.Repeat("\xff", MaxKeyBytes), i)
	}
	recordIn(u, 0, t0, "gone", "a", "", "", "", "", 1, false)
	for i := range DefaultTenants { // the last folds into Other, which it makes
		name := fmt.Sprint("t", i)
		if i%7 == 0 {
			name = odd(i)
		}
		recordIn(u, 0, h1, name, "a", "", "", "", "", 1, false)
	}
	check := func(when string) {
		t.Helper()
		u.Tenants() // aggregate
		if !u.filter.full.Load() {
			t.Fatalf("%s: the filter is not full", when)
		}
		renamed := 0
		for key, tu := range u.tenants {
			name := key
			if tu.renamed {
				name, renamed = tu.name, renamed+1
			}
			if u.filter.folds(name) {
				t.Fatalf("%s: kept tenant %q (key %q) folds", when, name, key)
			}
		}
		if renamed < DefaultTenants/7-1 {
			t.Fatalf("%s: %d tenants kept under a changed key", when, renamed)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range 20_000 {
			name := fmt.Sprint("x", i)
			if i%2 == 0 {
				name = odd(rng.IntN(1 << 20))
			}
			if u.filter.folds(name) && u.tenants[tenantKey(name)] != nil {
				t.Fatalf("%s: %q folds, but is kept", when, name)
			}
		}
	}
	check("added")
	for _, app := range []string{"a", "b"} { // two events move the window to h2: "gone" goes
		recordIn(u, 0, h2, "t1", app, "", "", "", "", 1, false)
	}
	recordIn(u, 0, h2, "new", "a", "", "", "", "", 1, false)
	check("after a prune")
	// Past the cap, a kept tenant's events count as its own.
	for i := range DefaultTenants - 1 {
		if i%7 == 0 {
			recordIn(u, 0, h2, odd(i), "a", "", "", "", "", 1, false)
		}
	}
	rows := u.TenantRows(h2, h2.Add(time.Hour))
	own := 0
	for _, r := range rows {
		if r.Key != Other && r.Key != "t1" {
			if r.Calls != 1 {
				t.Fatalf("tenant %q: %+v, want 1 call", r.Key, r)
			}
			own++
		}
	}
	if want := (DefaultTenants - 1 + 6) / 7; own != want {
		t.Fatalf("%d tenants kept under a changed key count as their own, want %d: %+v", own, want, rows)
	}
}

// The filter lets about one tenant not kept in 1,000 through (see
// keptWords), whatever the names look like: numbered ones of every
// length (the common tenant is 8 to 16 bytes) and random ones, under a
// few fixed seeds (New picks one at random).
func TestUsageTenantFilterFalsePositives(t *testing.T) {
	for seed := range uint64(3) {
		testFilterFalsePositives(t, seed*0x9e3779b97f4a7c15+1)
	}
}

func testFilterFalsePositives(t *testing.T, seed uint64) {
	u := newStats(t, 0, 100)
	u.filter.seed = seed
	for i := range DefaultTenants + 1 {
		recordIn(u, 0, t0, fmt.Sprintf("acct-%08d", i), "a", "", "", "", "", 1, false)
	}
	u.Tenants()
	rng := rand.New(rand.NewPCG(3, seed))
	const alnum = "abcdefghijklmnopqrstuvwxyz0123456789-"
	for _, c := range []struct {
		name string
		gen  func(i int) string
	}{
		{"numbered", func(i int) string { return fmt.Sprint("tenant-", i) }},
		{"numbered-13", func(i int) string { return fmt.Sprintf("tenant-%06d", i) }},
		{"numbered-16", func(i int) string { return fmt.Sprintf("acct-%08d-x%d", i+DefaultTenants+1, i%10) }},
		{"prefix-8", func(i int) string { return fmt.Sprintf("%08d", i) }},
		{"random", func(int) string {
			b := make([]byte, 1+rng.IntN(40))
			for j := range b {
				b[j] = alnum[rng.IntN(len(alnum))]
			}
			return string(b)
		}},
	} {
		const others = 100_000
		passed := 0
		for i := range others {
			if name := c.gen(i); !u.filter.folds(name) && u.tenants[name] == nil {
				passed++
			}
		}
		t.Logf("seed %#x %s: %d of %d passed", seed, c.name, passed, others)
		if passed > others*3/1000 {
			t.Errorf("seed %#x %s: %d of %d tenants not kept passed the filter, want about 0.1 %%", seed, c.name, passed, others)
		}
	}
}

// foldsPast's inlined lookup of a 9- to 16-byte name agrees with has,
// which add's bits answer, at every length and alignment.
func TestUsageFoldsPastAgreesWithHas(t *testing.T) {
	var f tenantFilter
	f.seed = 0x9e3779b97f4a7c15
	rng := rand.New(rand.NewPCG(5, 6))
	big := make([]byte, 400)
	for i := range big {
		big[i] = byte(rng.IntN(256))
	}
	for i := 0; i < 400; i += 3 {
		for n := 0; i+n <= len(big) && n <= MaxKeyBytes+2; n += 1 + n/8 {
			if rng.IntN(4) == 0 {
				f.add(string(big[i : i+n]))
			}
		}
	}
	for i := range 400 {
		for n := 0; i+n <= len(big) && n <= MaxKeyBytes+2; n += 1 + n/8 {
			name := string(big[i : i+n])
			if got, want := f.foldsPast(name), len(name) <= MaxKeyBytes && !f.has(name); got != want {
				t.Fatalf("foldsPast(%q) = %v, has says %v", name, got, want)
			}
		}
	}
}
