package limiter

import (
	"context"
	"errors"
	"slices"
	"sync"
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
