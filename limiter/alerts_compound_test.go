package limiter

import (
	"context"
	"slices"
	"testing"
	"time"
)

// A partial settle on a plan with an extra window crosses a threshold of the
// pool: 1 credit used, then settled to 50 (pool +49, the hour's window +9,
// all it had). The step's Cost was the least any window took (9), so the
// use before read 41 and the 40 % crossing was missed.
func TestAlertsCompoundPartialSettle(t *testing.T) {
	var log alertLog
	p := testPlan()
	p.Window = 24 * time.Hour
	p.Extra = []WindowLimit{{Credits: 10, Window: time.Hour}}
	l := mustNew(t, p, WithAlerts([]int{40}, log.add))
	tk, d := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 1})
	if !d.Allowed {
		t.Fatalf("%+v", d)
	}
	tk.Settle(t0.Add(time.Minute), 50)
	tk.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := log.thresholds(); !slices.Equal(got, []int{40}) {
		t.Fatalf("alerts %v, want [40] (use 1 -> 50 of 100)", got)
	}
	if d := l.Peek(t0.Add(time.Minute), "o"); d.Used != 50 || d.Remaining != 0 {
		t.Fatalf("after the settle: %+v", d)
	}
}
