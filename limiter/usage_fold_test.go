package limiter

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/creditgate/creditgate/usage"
)

// A call that the usage statistics folded into Other as they recorded it
// (DefaultTenants kept, its tenant not) has its refusal, settle and
// reserve counted under Other too, even when its tenant gets a row of its
// own later in the hour: before, they named the tenant and went to that
// row (-1 call and minus the call's credits there, while Other kept the
// call). The ticket keeps RecordIn's report.
func TestCorrectionsOfAFoldedCallCountUnderOther(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	for _, end := range []string{"refuse", "settle", "reserve"} {
		t.Run(end, func(t *testing.T) {
			u := fullUsage(t, t0, t1)
			l := mustNew(t, Plan{Name: "t", Credits: 1 << 20, Concurrency: 4}, WithUsage(u))
			req := Request{Tenant: "x", App: "a", Credits: 3}
			tk, d := l.Acquire(t1, req) // folded as recorded
			if !d.Allowed {
				t.Fatal(d)
			}
			u.Record(usage.Event{At: t1, Tenant: "old1", App: "a", Credits: 1}) // the prune: room
			u.Tenants()
			tk2, _ := l.Acquire(t1, req) // x's row
			tk2.Release()
			other := usage.Count{Key: usage.Other, Refused: 1}
			switch end {
			case "refuse":
				tk.Refuse(t1, &req)
			case "settle":
				tk.Settle(t1, 5)
				other = usage.Count{Key: usage.Other, Credits: 5, Calls: 1}
			case "reserve":
				tk.Reserve(t1, 4)
				other = usage.Count{Key: usage.Other, Credits: 7, Calls: 1}
			}
			tk.Release()
			want := map[string]usage.Count{"x": {Key: "x", Credits: 3, Calls: 1}, usage.Other: other,
				"old0": {Key: "old0", Credits: 1, Calls: 1}, "old1": {Key: "old1", Credits: 1, Calls: 1}}
			rows := u.TenantRows(t1, t1.Add(time.Hour))
			for _, c := range rows {
				if c != want[c.Key] {
					t.Errorf("row %+v, want %+v", c, want[c.Key])
				}
			}
			if len(rows) != len(want) {
				t.Errorf("rows %+v, want %v", rows, want)
			}
		})
	}
}

// fullUsage returns statistics keeping one hour, with DefaultTenants kept
// at t0 (the last one Other) and one event of t1 aggregated: the cap is
// reached, and the next event of t1 prunes t0's tenants and makes room.
func fullUsage(t *testing.T, t0, t1 time.Time) *usage.Stats {
	u := usage.New(time.Hour, 10)
	t.Cleanup(func() { _ = u.Close(context.Background()) })
	for i := range usage.DefaultTenants + 1 { // the last one is Other
		u.Record(usage.Event{At: t0, Tenant: fmt.Sprintf("old%d", i), App: "a", Credits: 1})
	}
	u.Record(usage.Event{At: t1, Tenant: "old0", App: "a", Credits: 1}) // the hour's first event
	u.Tenants()                                                         // aggregated: the cap is reached
	return u
}
