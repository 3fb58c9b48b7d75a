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
	l := mustNew(t, testPlan(), WithSlots(24), WithAlerts(nil, log.add))
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
	l := mustNew(t, Plan{Name: "p", BaseCredits: 10, Concurrency: 1}, WithAlerts([]int{10}, func(Alert) { <-block }))
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
// so thresholds it did not cross do not fire again. Through the MemoryStore
// directly, with an extra window (a compound pool), and through the Store
// interface, which does not say how much a charge took.
func TestAlertsSettleCutShort(t *testing.T) {
	compound := compoundTestPlan()
	for _, c := range []struct {
		name string
		plan Plan
		opts []Option
	}{
		{"memory", testPlan(), nil},
		{"compound", compound, nil},
		{"store", testPlan(), []Option{WithStore(wrappedStore{NewMemoryStore()})}},
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
// admission or settle takes usage, as Peek reports it just before and just
// after, from below it to at or above it. Through the Store interface, whose
// Adjust does not say how much a cut-short charge took, alerts may only be
// missed (a charge that emptied the pool after the window gave credits back
// unseen), never added.
func TestAlertsModel(t *testing.T) {
	compound := compoundTestPlan()
	for _, c := range []struct {
		name   string
		plan   Plan
		store  bool
		subset bool
	}{
		{"memory", testPlan(), false, false},
		{"compound", compound, false, false},
		{"store", testPlan(), true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			for seed := uint64(1); seed <= 30; seed++ {
				alertsModel(t, seed, c.plan, c.store, c.subset)
			}
		})
	}
}

func alertsModel(t *testing.T, seed uint64, p Plan, store, subset bool) {
	rng := rand.New(rand.NewPCG(seed, 7))
	var thresh []int
	if rng.IntN(3) > 0 {
		for range 1 + rng.IntN(5) {
			thresh = append(thresh, 1+rng.IntN(100))
		}
	}
	var log alertLog
	opts := []Option{WithSlots(24), WithAlerts(thresh, log.add)}
	if store {
		opts = append(opts, WithStore(wrappedStore{NewMemoryStore(StoreSlots(24))}))
	}
	l := mustNew(t, p, opts...)
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
		return d.Limit - d.Remaining, d.Limit
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
	if !subset && !slices.Equal(got, want) {
		t.Fatalf("seed %d, thresholds %v: alerts %v, want %v", seed, thresh, got, want)
	}
	rest := want
	for _, g := range got { // got must be a subsequence of want
		i := slices.Index(rest, g)
		if i < 0 {
			t.Fatalf("seed %d, thresholds %v: alerts %v, not a subsequence of %v", seed, thresh, got, want)
		}
		rest = rest[i+1:]
	}
}

// hookStore runs hook (once) inside Take or Adjust, after the pool was read
// and before the Limiter checks the alerts: an admission run there is one
// whose check overtakes this one's.
type hookStore struct {
	Store
	hook func()
}

func (s *hookStore) run() {
	if h := s.hook; h != nil {
		s.hook = nil
		h()
	}
}

func (s *hookStore) Take(now time.Time, req Request, planFor func(string) *Plan, lease *Lease) Decision {
	d := s.Store.Take(now, req, planFor, lease)
	s.run()
	return d
}

func (s *hookStore) Adjust(now time.Time, l *Lease, delta int64) int64 {
	rem := s.Store.Adjust(now, l, delta)
	s.run()
	return rem
}

// spender returns a func that admits and releases a call of n credits of
// tenant "o" at t0, failing the test if it is refused.
func spender(t *testing.T, l *Limiter) func(n int64) {
	return func(n int64) {
		t.Helper()
		tk, d := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: n})
		if !d.Allowed {
			t.Fatalf("refused: %+v", d)
		}
		tk.Release()
	}
}

// Checks that run out of order: A takes usage from 75 to 85, B from 85 to
// 95, and B's check runs first (80 and 90 fire). A's report of 85 is stale:
// it must not re-arm 90 (nor fire 80 again), so C's 96 fires nothing.
func TestAlertsStaleCheck(t *testing.T) {
	var log alertLog
	s := &hookStore{Store: NewMemoryStore()}
	l := mustNew(t, testPlan(), WithStore(s), WithAlerts(nil, log.add))
	spend := spender(t, l)
	spend(75)
	s.hook = func() { spend(10) } // B, inside A's Take
	spend(10)                     // A
	spend(1)                      // C
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := log.thresholds(), []int{80, 90}; !slices.Equal(got, want) {
		t.Fatalf("alerts %v, want %v", got, want)
	}
}

// A refund's check overtaken: usage at 95 (80 and 90 fired) falls to 65 and
// B takes it back to 95 before the refund's check runs. B's check fires 80
// and 90 for the new crossing; the refund's report of 65 is stale and must
// not re-arm them, so C's 96 fires nothing.
func TestAlertsStaleSettle(t *testing.T) {
	var log alertLog
	s := &hookStore{Store: NewMemoryStore()}
	l := mustNew(t, testPlan(), WithStore(s), WithAlerts(nil, log.add))
	spend := spender(t, l)
	spend(65)
	tk, _ := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 30}) // 95: 80, 90
	s.hook = func() { spend(30) }                                       // B, inside the refund's Adjust
	tk.Settle(t0, 0)                                                    // refunds 30
	tk.Release()
	spend(1) // C
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := log.thresholds(), []int{80, 90, 80, 90}; !slices.Equal(got, want) {
		t.Fatalf("alerts %v, want %v", got, want)
	}
}

// testAlerter is an alerter without its goroutine: tests drain the queue.
func testAlerter(t *testing.T, thresh []int) *alerter {
	t.Helper()
	thresh = slices.Compact(slices.Sorted(slices.Values(thresh)))
	if len(thresh) == 0 || thresh[0] < 1 || thresh[len(thresh)-1] > 100 {
		t.Fatalf("thresholds %v", thresh)
	}
	return &alerter{thresh: thresh, queue: make(chan Alert, 1024)}
}

func drain(a *alerter) []int {
	var out []int
	for len(a.queue) > 0 {
		out = append(out, (<-a.queue).Threshold)
	}
	return out
}

// The reviewer's order, with the seen words the admissions load before they
// read the pool; then a refund and a rise, and a fall nobody reported
// followed by a take that starts below the thresholds.
func TestAlertCheckOrder(t *testing.T) {
	a := testAlerter(t, DefaultThresholds)
	var st AlertState
	seenA, seenB := st.seen(), st.seen() // A takes 75 to 85, B 85 to 95
	a.check(t0, &st, seenB, "o", 100, 5, 10)
	a.check(t0, &st, seenA, "o", 100, 15, 10) // stale: dropped
	a.check(t0, &st, st.seen(), "o", 100, 4, 1)
	if got := drain(a); !slices.Equal(got, []int{80, 90}) {
		t.Fatalf("out of order: %v, want [80 90]", got)
	}
	a.check(t0, &st, st.seen(), "o", 100, 30, 0) // refunded to 70: 80 and 90 re-armed
	a.check(t0, &st, st.seen(), "o", 100, 8, 22) // 92
	a.check(t0, &st, st.seen(), "o", 100, 0, 8)  // 100
	a.check(t0, &st, st.seen(), "o", 100, 0, 0)  // a settle that found the pool empty
	if got := drain(a); !slices.Equal(got, []int{80, 90, 100}) {
		t.Fatalf("after a refund: %v, want [80 90 100]", got)
	}
	// The window gave everything back unseen; a take of 85 starts at 0.
	a.check(t0.Add(25*time.Hour), &st, st.seen(), "o", 100, 15, 85)
	if got := drain(a); !slices.Equal(got, []int{80}) {
		t.Fatalf("after the window: %v, want [80]", got)
	}
	// A seen word nobody loaded (a Store outside this package) is loaded
	// in check.
	a.check(t0, &st, 0, "o", 100, 5, 10)
	if got := drain(a); !slices.Equal(got, []int{90}) {
		t.Fatalf("unseen: %v, want [90]", got)
	}
}

// TestAlertCheckInterleavings runs random schedules of concurrent changes to
// a model pool (takes, settle charges that may be cut short, refunds, and
// falls nobody reports, as when the window gives credits back), each in
// three steps (load the seen word; change the pool and read it in one step;
// check), interleaved at random. The reference is the pool's history: two
// alerts of one threshold must have usage below it in between (no crossing
// reported twice), and with no interleaving every crossing fires, once.
func TestAlertCheckInterleavings(t *testing.T) {
	for seed := uint64(1); seed <= 300; seed++ {
		interleave(t, seed, seed%4 == 0)
	}
}

func interleave(t *testing.T, seed uint64, sequential bool) {
	rng := rand.New(rand.NewPCG(seed, 11))
	var thresh []int
	for range 1 + rng.IntN(4) {
		thresh = append(thresh, 1+rng.IntN(100))
	}
	a := testAlerter(t, thresh)
	limit := int64(20 + rng.IntN(200))
	var st AlertState
	level := int64(0)
	hist := []int64{0} // the level after each change
	type op struct {
		step             int // 0: idle, 1: seen loaded, 2: pool changed
		seen             uint64
		read             int // hist index of its change
		remaining, added int64
	}
	type fire struct{ th, read int }
	var fires []fire
	check := func(o *op) {
		a.check(t0, &st, o.seen, "o", limit, o.remaining, o.added)
		for _, th := range drain(a) {
			fires = append(fires, fire{th, o.read})
		}
		*o = op{}
	}
	ops := make([]op, 2+rng.IntN(3))
	if sequential {
		ops = ops[:1]
	}
	for range 400 {
		o := &ops[rng.IntN(len(ops))]
		switch o.step {
		case 0:
			if rng.IntN(6) == 0 { // a fall nobody reports
				level -= min(level, int64(rng.IntN(int(limit)/2+1)))
				hist = append(hist, level)
				continue
			}
			o.seen, o.step = st.seen(), 1
		case 1:
			n := int64(rng.IntN(int(limit)/3 + 1))
			switch rng.IntN(3) {
			case 0: // admission: all or nothing
				if level+n > limit {
					*o = op{}
					continue
				}
				o.added = n
			case 1: // settle charge: what fits
				o.added = min(n, limit-level)
			case 2: // refund: none added
				level -= min(n, level)
			}
			level += o.added
			hist = append(hist, level)
			o.read, o.remaining, o.step = len(hist)-1, limit-level, 2
		case 2:
			check(o)
		}
	}
	for _, i := range rng.Perm(len(ops)) { // the checks still in flight
		if ops[i].step == 2 {
			check(&ops[i])
		}
	}
	at := func(th int) int64 { return (limit*int64(th) + 99) / 100 }
	last := map[int]int{}
	for _, f := range fires {
		if hist[f.read] < at(f.th) {
			t.Fatalf("seed %d: %d fired at usage %d of %d", seed, f.th, hist[f.read], limit)
		}
		if r, ok := last[f.th]; ok && (r >= f.read || slices.Min(hist[r:f.read]) >= at(f.th)) {
			t.Fatalf("seed %d, limit %d: %d fired at changes %d and %d with no fall between: %v", seed, limit, f.th, r, f.read, hist)
		}
		last[f.th] = f.read
	}
	if !sequential {
		return
	}
	var want []fire
	for k := 1; k < len(hist); k++ {
		for _, th := range a.thresh {
			if hist[k-1] < at(th) && hist[k] >= at(th) {
				want = append(want, fire{th, k})
			}
		}
	}
	if !slices.Equal(fires, want) {
		t.Fatalf("seed %d, limit %d, thresholds %v: fires %v, want %v (%v)", seed, limit, a.thresh, fires, want, hist)
	}
}

// Goroutines spend one tenant's pool a credit at a time, so usage only rises
// and each threshold is crossed once: no threshold may fire twice however the
// checks interleave, and after one more admission (of nothing, once they are
// done: it reports usage again) each has fired.
func TestAlertsConcurrentRise(t *testing.T) {
	var thresh []int
	for th := 3; th <= 100; th += 3 {
		thresh = append(thresh, th)
	}
	thresh = append(thresh[:31], 100)
	p := Plan{Name: "r", BaseCredits: 2000, Concurrency: 64}
	for _, store := range []bool{false, true} {
		for round := range 5 {
			var log alertLog
			opts := []Option{WithAlerts(thresh, log.add)}
			if store {
				opts = append(opts, WithStore(wrappedStore{NewMemoryStore()}))
			}
			l := mustNew(t, p, opts...)
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
			tk, _ := l.Acquire(t0, Request{Tenant: "o", App: "a"})
			tk.Release()
			if err := l.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := slices.Sorted(slices.Values(log.thresholds())); !slices.Equal(got, thresh) {
				t.Fatalf("store %v round %d: alerts %v, want each of %v once", store, round, got, thresh)
			}
		}
	}
}

// The alert check stays off the heap: an admission and a settle with alerts
// on allocate nothing (crossings included: an Alert is copied into the queue).
func TestAlertsAllocs(t *testing.T) {
	var fired atomic.Int64
	l := mustNew(t, Plan{Name: "a", BaseCredits: 100, Concurrency: 2}, WithAlerts([]int{1, 50}, func(Alert) { fired.Add(1) }))
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
