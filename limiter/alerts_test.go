package limiter

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store/memory"
)

type alertLog struct {
	mu  sync.Mutex
	got []Alert
}

func (a *alertLog) add(al Alert) {
	a.mu.Lock()
	a.got = append(a.got, al)
	a.mu.Unlock()
}

func (a *alertLog) thresholds() []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []int
	for _, al := range a.got {
		out = append(out, al.Threshold)
	}
	return out
}

func TestAlertsOncePerCrossing(t *testing.T) {
	var log alertLog
	l := mustNew(t, testPlan(), withMem(memory.WithSlots(24)), WithAlerts(nil, log.add))
	spend := func(at time.Time, n int64) Decision {
		tk, d := l.Acquire(at, Request{Tenant: "o", App: "a", Credits: n})
		tk.Release()
		return d
	}
	spend(t0, 79) // 79 %: nothing
	spend(t0, 1)  // 80 %
	spend(t0, 1)  // still above 80: not again
	spend(t0, 1)
	tk, _ := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 17}) // 99 %: 90
	tk.Settle(t0, 18)                                                   // settles to 100 %: 100
	tk.Release()
	spend(t0, 1) // refused, no alert
	// The window moves on: usage falls to 0 and the thresholds re-arm.
	later := t0.Add(26 * time.Hour)
	spend(later, 85) // 85 %: 80 fires again
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := log.thresholds(), []int{80, 90, 100, 80}; !slices.Equal(got, want) {
		t.Fatalf("alerts %v, want %v", got, want)
	}
	for i, al := range log.got { // the 100 % one is a Settle's: its ticket names the tenant
		if al.Tenant != "o" {
			t.Fatalf("alert %d names tenant %q: %+v", i, al.Tenant, al)
		}
	}
	first := log.got[0]
	if first.Tenant != "o" || first.Used != 80 || first.Limit != 100 || !first.At.Equal(t0) {
		t.Fatalf("first alert: %+v", first)
	}
	if err := l.Close(ctx); err != nil { // idempotent
		t.Fatal(err)
	}
}

func TestAlertsRearmAfterRefund(t *testing.T) {
	var log alertLog
	l := mustNew(t, testPlan(), WithAlerts([]int{50}, log.add))
	tk, _ := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 60}) // 60 %: fires 50
	tk.Settle(t0, 0)                                                    // refunded: re-armed
	tk.Release()
	tk, _ = l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 55}) // fires again
	tk.Release()
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := log.thresholds(); !slices.Equal(got, []int{50, 50}) {
		t.Fatalf("alerts %v", got)
	}
}

// The user's function runs off the hot path: a blocked function does not
// block Acquire, and a full queue drops (and counts) alerts.
func TestAlertsNeverBlockAcquire(t *testing.T) {
	block := make(chan struct{})
	l := mustNew(t, Plan{Name: "p", Credits: 10, Concurrency: 1}, WithAlerts([]int{10}, func(Alert) { <-block }))
	for i := 0; i < 2000; i++ {
		tenant := string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
		tk, _ := l.Acquire(t0, Request{Tenant: tenant, App: "x", Credits: 1})
		tk.Release()
	}
	if l.DroppedAlerts() == 0 {
		t.Fatal("no alert dropped with a blocked consumer and 2000 crossings")
	}
	close(block)
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestAlertThresholdsInvalid(t *testing.T) {
	// Usage cannot pass the pool: a threshold above 100 % would never fire.
	for _, th := range [][]int{{}, {0}, {101}, {90, 120}, {1001}, make([]int, 33)} {
		if _, err := New(testPlan(), WithAlerts(th, func(Alert) {})); !errors.Is(err, ErrThresholds) {
			t.Errorf("%v: %v", th, err)
		}
	}
	l, err := New(testPlan(), WithAlerts([]int{1, 100}, func(Alert) {}))
	if err != nil {
		t.Fatalf("1 and 100 %%: %v", err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// compoundTestPlan is testPlan with a daily-ish extra window: a compound pool.
func compoundTestPlan() Plan {
	p := testPlan()
	p.Extra = []WindowLimit{{Credits: 1000, Window: 48 * time.Hour}}
	return p
}

// A settle that charges more than the pool has left is cut short: usage
// before it was what the settle found, not used minus the whole difference,
// so thresholds it did not cross do not fire again; also with an extra
// window (a compound pool).
func TestAlertsSettleCutShort(t *testing.T) {
	compound := compoundTestPlan()
	for _, c := range []struct {
		name string
		plan Plan
		opts []Option
	}{
		{"memory", testPlan(), nil},
		{"compound", compound, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var log alertLog
			l := mustNew(t, c.plan, append(c.opts, WithAlerts(nil, log.add))...)
			tk, _ := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 85}) // 80
			tk.Release()
			tk, _ = l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 10}) // 90
			// +20, of which 5 fit: 100, and not 90 again.
			tk.Settle(t0, 30)
			tk.Release()
			if err := l.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got, want := log.thresholds(), []int{80, 90, 100}; !slices.Equal(got, want) {
				t.Fatalf("alerts %v, want %v", got, want)
			}
		})
	}
}

// TestAlertsModel drives one tenant from one goroutine (admissions, settles
// up and down, releases, time that lets the window give credits back) and
// checks the alerts against the reference: a threshold fires exactly when an
// admission or settle takes the pool's use, as Peek reports it just before
// and just after, from below it to at or above it.
func TestAlertsModel(t *testing.T) {
	compound := compoundTestPlan()
	for _, c := range []struct {
		name string
		plan Plan
	}{
		{"memory", testPlan()},
		{"compound", compound},
	} {
		t.Run(c.name, func(t *testing.T) {
			for seed := uint64(1); seed <= 30; seed++ {
				alertsModel(t, seed, c.plan)
			}
		})
	}
}

func alertsModel(t *testing.T, seed uint64, p Plan) {
	rng := rand.New(rand.NewPCG(seed, 7))
	var thresh []int
	if rng.IntN(3) > 0 {
		for range 1 + rng.IntN(5) {
			thresh = append(thresh, 1+rng.IntN(100))
		}
	}
	var log alertLog
	l := mustNew(t, p, withMem(memory.WithSlots(24)), WithAlerts(thresh, log.add))
	if thresh == nil {
		thresh = DefaultThresholds
	}
	thresh = slices.Compact(slices.Sorted(slices.Values(thresh)))
	type fire struct {
		th   int
		used int64
	}
	var want []fire
	now := t0
	used := func() (int64, int64) {
		d := l.Peek(now, "o")
		return d.Used, d.Limit
	}
	var live []Ticket
	for range 300 {
		now = now.Add([]time.Duration{0, 0, time.Minute, time.Hour, 7 * time.Hour, 25 * time.Hour}[rng.IntN(6)])
		before, _ := used()
		switch op := rng.IntN(10); {
		case op < 5 && len(live) < 2: // Concurrency 2
			tk, d := l.Acquire(now, Request{Tenant: "o", App: "a", Credits: int64(rng.IntN(40))})
			if d.Allowed {
				live = append(live, tk)
			}
		case op < 8 && len(live) > 0:
			live[0].Settle(now, int64(rng.IntN(80)))
		case len(live) > 0:
			live[0].Release()
			live = live[1:]
		}
		after, limit := used()
		for _, th := range thresh {
			if at := (limit*int64(th) + 99) / 100; before < at && after >= at {
				want = append(want, fire{th, after})
			}
		}
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l.DroppedAlerts() != 0 {
		t.Fatalf("seed %d: %d alerts dropped", seed, l.DroppedAlerts())
	}
	var got []fire
	for _, a := range log.got {
		got = append(got, fire{a.Threshold, a.Used})
	}
	if !slices.Equal(got, want) {
		t.Fatalf("seed %d, thresholds %v: alerts %v, want %v", seed, thresh, got, want)
	}
}

// Goroutines spend one tenant's pool a credit at a time, so usage only rises
// and each threshold is crossed once: each fires exactly once however the
// admissions interleave, each step reporting its own before and after.
func TestAlertsConcurrentRise(t *testing.T) {
	var thresh []int
	for th := 3; th <= 100; th += 3 {
		thresh = append(thresh, th)
	}
	thresh = append(thresh[:31], 100)
	p := Plan{Name: "r", Credits: 2000, Concurrency: 64}
	{
		for round := range 5 {
			var log alertLog
			l := mustNew(t, p, WithAlerts(thresh, log.add))
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						tk, d := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 1})
						if !d.Allowed {
							return
						}
						tk.Release()
					}
				}()
			}
			wg.Wait()
			if err := l.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := slices.Sorted(slices.Values(log.thresholds())); !slices.Equal(got, thresh) {
				t.Fatalf("round %d: alerts %v, want each of %v once", round, got, thresh)
			}
		}
	}
}

// The alert check stays off the heap: an admission and a settle with alerts
// on allocate nothing (crossings included: an Alert is copied into the queue).
func TestAlertsAllocs(t *testing.T) {
	var fired atomic.Int64
	l := mustNew(t, Plan{Name: "a", Credits: 100, Concurrency: 2}, WithAlerts([]int{1, 50}, func(Alert) { fired.Add(1) }))
	now := t0
	allocs := testing.AllocsPerRun(2000, func() {
		now = now.Add(25 * time.Hour) // the window lets everything go
		tk, _ := l.Acquire(now, Request{Tenant: "o", App: "a", Credits: 60})
		tk.Settle(now, 10) // back below 50: it re-arms
		tk.Release()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per admission", allocs)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := fired.Load() + l.DroppedAlerts(); n < 4000 { // 1 and 50 each time
		t.Fatalf("%d alerts", n)
	}
}
