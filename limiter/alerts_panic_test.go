package limiter

import (
	"bytes"
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

// Alerts around a plan change and a restore, each crossing once: a pool
// that grows under 85 % use puts it at 42.5 %, so 80 % fires again only
// when use climbs through 80 % of the new pool; a pool that shrinks puts
// use above thresholds it never crossed, which no step reports (WithAlerts
// says so) until use falls below and rises again; a restored store's use
// was reported before the snapshot, and only crossings after the restore
// fire. Held: this documents it.
func TestAlertsPlanChangeAndRestore(t *testing.T) {
	var log alertLog
	l := mustNew(t, testPlan(), WithAlerts(nil, log.add))
	spend := func(n int64) {
		tk, d := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: n})
		if !d.Allowed {
			t.Fatalf("%d credits refused: %+v", n, d)
		}
		tk.Release()
	}
	spend(85) // 80
	grown := testPlan()
	grown.Credits = 200
	if err := l.SetPlanAt(t0, "o", grown); err != nil {
		t.Fatal(err)
	}
	spend(74) // 159 of 200: under 80 %
	spend(1)  // 160: 80 again, of the new pool
	shrunk := testPlan()
	shrunk.Credits = 170
	if err := l.SetPlanAt(t0, "o", shrunk); err != nil {
		t.Fatal(err)
	}
	spend(1) // 161 of 170 (94.7 %): 90 was never crossed by a step, nor is it now
	spend(9) // 170: 100

	var snap bytes.Buffer
	if err := l.SnapshotAt(t0, &snap); err != nil {
		t.Fatal(err)
	}
	var log2 alertLog
	l2 := mustNew(t, shrunk, WithAlerts(nil, log2.add))
	if err := l2.RestoreAt(t0, &snap); err != nil {
		t.Fatal(err)
	}
	tk, d := l2.Acquire(t0.Add(time.Minute), Request{Tenant: "o", App: "a", Credits: 1})
	tk.Release()
	if d.Allowed {
		t.Fatalf("the restored pool admitted a call: %+v", d)
	}
	tk, d = l2.Acquire(t0.Add(time.Minute), Request{Tenant: "p", App: "a", Credits: 140})
	tk.Release()
	for _, l := range []*Limiter{l, l2} {
		if err := l.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := log.thresholds(); !slices.Equal(got, []int{80, 80, 100}) {
		t.Fatalf("alerts %v, want [80 80 100]", got)
	}
	if got := log2.thresholds(); !slices.Equal(got, []int{80}) {
		t.Fatalf("alerts after the restore %v, want [80] (tenant p's)", got)
	}
}
