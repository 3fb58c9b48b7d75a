package memory

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// randomPlans returns a PlanFunc giving each key one of a few random valid
// plans: rolling or calendar pools, up to three extra windows (now and
// then MaxWindows in all), classes with caps.
func randomPlans(rng *rand.Rand) (store.PlanFunc, string) {
	lengths := []time.Duration{time.Minute, 10 * time.Minute, time.Hour, 24 * time.Hour}
	var ps []*store.Plan
	for i := range 1 + rng.IntN(4) {
		p := &store.Plan{Name: fmt.Sprint("p", i), Credits: 5 + rng.Int64N(500),
			Window: lengths[rng.IntN(len(lengths))], Concurrency: 1 + rng.Int64N(3)}
		if rng.IntN(4) == 0 {
			p.Window = 24 * time.Hour
			p.Calendar = &store.Calendar{Reset: time.Duration(rng.IntN(24)) * time.Hour, Location: time.UTC}
		}
		if rng.IntN(2) == 0 {
			p.SubConcurrency = map[string]int64{"bulk": 1, "query": 1 + rng.Int64N(2)}
		}
		extra := rng.IntN(4)
		if rng.IntN(8) == 0 {
			extra = MaxWindows - 1
		}
		for k := range extra {
			x := store.WindowLimit{Credits: p.Credits * int64(k+2), Window: p.WindowLength() * time.Duration(k+2)}
			if p.WindowLength() < 24*time.Hour && rng.IntN(4) == 0 {
				x.Window, x.Calendar = 24*time.Hour, &store.Calendar{Location: time.UTC}
			}
			p.Extra = append(p.Extra, x)
		}
		if err := p.Validate(); err != nil {
			panic(err)
		}
		ps = append(ps, p)
	}
	return func(key string) *store.Plan { return ps[len(key)%len(ps)] }, fmt.Sprint(len(ps), " plans")
}

// randomOptions returns random store options and a description of them.
func randomOptions(rng *rand.Rand) ([]Option, string) {
	maxBytes := []int64{300, 2000, 8000, 40000, 1 << 20}[rng.IntN(5)]
	slots := []int{0, 12, 60, 1000}[rng.IntN(4)]
	opts := []Option{WithMaxBytes(maxBytes), WithSlots(slots)}
	desc := fmt.Sprintf("WithMaxBytes(%d) WithSlots(%d)", maxBytes, slots)
	if rng.IntN(2) == 0 {
		opts, desc = append(opts, WithSlotCache()), desc+" WithSlotCache"
	}
	if d := []time.Duration{0, time.Second, time.Minute}[rng.IntN(3)]; d > 0 {
		opts, desc = append(opts, WithIdleAfter(d)), desc+fmt.Sprintf(" WithIdleAfter(%v)", d)
	}
	if n := []int{0, 0, 3, 20}[rng.IntN(4)]; n > 0 {
		opts, desc = append(opts, WithMaxTenants(n)), desc+fmt.Sprintf(" WithMaxTenants(%d)", n)
	}
	if n := []int{0, 1, 2}[rng.IntN(3)]; n > 0 {
		opts, desc = append(opts, WithMaxApps(n)), desc+fmt.Sprintf(" WithMaxApps(%d)", n)
	}
	return opts, desc
}

// Property: a store's own snapshot restores into a store of the same
// options, and every tenant then has what it had. Random stores (bounds,
// slots, slot cache, idle times) with random tenants (keys empty, long,
// not UTF-8), plans (rolling, calendar, compound up to MaxWindows),
// applications and classes take, hold, release, settle and are charged at
// random times, and are swept now and then; SnapshotAt, then RestoreAt into
// a new store of the same options must succeed, and Peek must agree on each
// tenant's use, credits left and when more come back.
func TestSnapshotRestoresOwnStoreProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(46, 2026))
	var keys []string
	for i := range 30 {
		switch i % 5 {
		case 0:
			keys = append(keys, fmt.Sprint("t", i))
		case 1:
			keys = append(keys, strings.Repeat("long", 8)+fmt.Sprint(i))
		case 2:
			keys = append(keys, fmt.Sprintf("\xff\x01%d", i))
		default:
			keys = append(keys, fmt.Sprint("Tenant-", i))
		}
	}
	keys[3] = ""
	apps := []string{"a", "b", "c"}
	classes := []string{"", "bulk", "query"}
	var restored, folded, over int // rounds: the test must check something
	for round := range 150 {
		opts, desc := randomOptions(rng)
		plans, pdesc := randomPlans(rng)
		desc = fmt.Sprintf("round %d: %s, %s", round, desc, pdesc)
		src := New(opts...)
		now := foldT0.Add(time.Duration(rng.Int64N(int64(24 * time.Hour))))
		var held []*Lease
		for range 200 + rng.IntN(200) {
			now = now.Add(time.Duration(rng.Int64N(int64([]time.Duration{time.Second, time.Minute, 20 * time.Minute}[rng.IntN(3)]))))
			key := keys[rng.IntN(len(keys))]
			switch op := rng.IntN(20); {
			case op < 12:
				l := new(Lease)
				var d store.Decision
				src.Take(now, &store.Request{Tenant: key, App: apps[rng.IntN(len(apps))],
					Class: classes[rng.IntN(len(classes))], Credits: rng.Int64N(12)}, plans, l, &d)
				if !d.Allowed {
					break
				}
				switch rng.IntN(4) {
				case 0:
					held = append(held, l)
				case 1:
					src.Settle(now, l, rng.Int64N(7)-3, rng.IntN(2) == 0)
					src.Release(l)
				default:
					src.Release(l)
				}
			case op < 14 && len(held) > 0:
				i := rng.IntN(len(held))
				src.Release(held[i])
				held = append(held[:i], held[i+1:]...)
			case op < 16:
				src.Charge(now, key, rng.Int64N(20), plans)
			case op < 18:
				src.Sweep(now)
			}
		}
		var buf strings.Builder
		if err := src.SnapshotAt(now, &buf); err != nil {
			t.Fatalf("%s: %v", desc, err)
		}
		dst := New(opts...)
		if err := dst.RestoreAt(now, strings.NewReader(buf.String()), plans); err != nil {
			t.Fatalf("%s: a store of %d active, %d folded, %d bytes: its snapshot (%d bytes) does not restore: %v",
				desc, src.Len(), src.Folded(), src.Bytes(), buf.Len(), err)
		}
		if dst.Len()+dst.Folded() > 0 {
			restored++
		}
		if src.Folded() > 0 {
			folded++
		}
		if src.Bytes() > src.maxBytes {
			over++
		}
		for _, k := range keys {
			a := src.Peek(now, k, 0, plans)
			b := dst.Peek(now, k, 0, plans)
			if a.Used != b.Used || a.Remaining != b.Remaining {
				t.Fatalf("%s: tenant %q: used %d, %d left after the restore; before: %d, %d", desc, k, b.Used, b.Remaining, a.Used, a.Remaining)
			}
			if n := a.Remaining + 1; n <= plans(k).Credits {
				a, b = src.Peek(now, k, n, plans), dst.Peek(now, k, n, plans)
				if a.RetryAfter != b.RetryAfter {
					t.Fatalf("%s: tenant %q: %d credits back in %v after the restore; before, in %v", desc, k, n, b.RetryAfter, a.RetryAfter)
				}
			}
		}
		for _, l := range held {
			src.Release(l)
		}
	}
	t.Logf("of 150 rounds, %d restored tenants, %d from stores with folded ones, %d from stores past their bound", restored, folded, over)
	if restored < 100 || folded < 30 || over < 10 {
		t.Fatal("too few rounds restored tenants: the test checks little")
	}
}
