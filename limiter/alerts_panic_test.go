package limiter

import (
	"context"
	"slices"
	"testing"
	"time"
)

// An alert function that panics (a webhook client's bug, a nil map in a
// notifier) runs on the limiter's own goroutine, where nothing recovers:
// the panic ended the whole process, every request in flight with it, for
// a notification. It loses that alert, counted with the dropped ones, and
// the deliverer goes on with the next; Close still returns.
func TestAlertFuncPanics(t *testing.T) {
	var log alertLog
	calls := 0
	fn := func(a Alert) {
		calls++
		if calls == 1 {
			panic("notifier bug")
		}
		log.add(a)
	}
	l := mustNew(t, testPlan(), WithAlerts([]int{50, 90}, fn))
	tk, _ := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 60}) // 50: the function panics
	tk.Release()
	tk, _ = l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 35}) // 90: delivered
	tk.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := log.thresholds(); !slices.Equal(got, []int{90}) {
		t.Fatalf("alerts delivered after the panic: %v, want [90]", got)
	}
	if n := l.DroppedAlerts(); n != 1 {
		t.Fatalf("DroppedAlerts = %d, want 1 (the alert whose function panicked)", n)
	}
}
