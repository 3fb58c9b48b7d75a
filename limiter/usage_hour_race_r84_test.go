package limiter

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/creditgate/creditgate/usage"
)

// Reviewer-84: a call's refusal racing its settle or reserve, both after
// the hour turned, count in the admission's hour whatever wins: the next
// hour has nothing, and the admission's hour counts each call once, as a
// call or a refusal, with no credits below zero (holds).
func TestCorrectionsRaceInTheAdmissionsHour(t *testing.T) {
	admitted := time.Date(2026, 3, 1, 10, 59, 0, 0, time.UTC)
	later := admitted.Add(2 * time.Minute)
	hour := admitted.Truncate(time.Hour)
	for _, other := range []string{"settle", "reserve", "refuse"} {
		t.Run(other, func(t *testing.T) {
			u := usage.New(48*time.Hour, 10)
			defer func() { _ = u.Close(context.Background()) }()
			l := mustNew(t, Plan{Name: "t", Credits: 1 << 30, Concurrency: 1}, WithUsage(u))
			req := Request{Tenant: "o", App: "a", Credits: 3}
			const rounds = 200
			for range rounds {
				tk, d := l.Acquire(admitted, req)
				if !d.Allowed {
					t.Fatalf("the slot was not released: %+v", d)
				}
				var wg sync.WaitGroup
				for _, end := range []string{"refuse", other} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						switch cp := tk; end {
						case "refuse":
							cp.Refuse(later, &req)
						case "settle":
							cp.Settle(later, 9)
						case "reserve":
							cp.Reserve(later, 2)
						}
					}()
				}
				wg.Wait()
				tk.Release()
			}
			rows := u.TenantRows(hour, hour.Add(time.Hour))
			if len(rows) != 1 || rows[0].Calls+rows[0].Refused != rounds || rows[0].Calls < 0 || rows[0].Credits < 0 {
				t.Errorf("the admission's hour: %+v, want %d calls and refusals", rows, rounds)
			}
			if rows := u.TenantRows(hour.Add(time.Hour), hour.Add(2*time.Hour)); len(rows) != 0 {
				t.Errorf("the next hour: %+v, want nothing", rows)
			}
		})
	}
}

// Reviewer-84: a settle or refusal after the admission's hour left the
// retention counts nowhere, as the call does not any more: it does not
// land in the hour it was made in as credits or a refusal without their
// call (holds).
func TestCorrectionAfterTheAdmissionsHourLeftTheRetention(t *testing.T) {
	admitted := time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC)
	next := admitted.Truncate(time.Hour).Add(time.Hour)
	for _, end := range []string{"settle", "refuse"} {
		t.Run(end, func(t *testing.T) {
			u := usage.New(time.Hour, 10) // the newest hour only
			defer func() { _ = u.Close(context.Background()) }()
			l := mustNew(t, Plan{Name: "t", Credits: 1 << 20, Concurrency: 4}, WithUsage(u))
			req := Request{Tenant: "o", App: "a", Credits: 3}
			tk, _ := l.Acquire(admitted, req)
			for i, app := range []string{"x", "y"} { // two events of the next hour: the window moves
				other, _ := l.Acquire(next.Add(time.Duration(i)*time.Minute), Request{Tenant: "p", App: app, Credits: 1})
				other.Release()
			}
			u.TenantRows(next, next.Add(time.Hour))
			if end == "settle" {
				tk.Settle(next.Add(5*time.Minute), 9)
			} else {
				tk.Refuse(next.Add(5*time.Minute), &req)
			}
			tk.Release()
			rows := u.TenantRows(admitted.Add(-time.Hour), next.Add(time.Hour))
			if len(rows) != 1 || rows[0] != (usage.Count{Key: "p", Credits: 2, Calls: 2}) {
				t.Errorf("rows %+v, want p's two calls only", rows)
			}
		})
	}
}
