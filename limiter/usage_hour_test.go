package limiter

import (
	"context"
	"testing"
	"time"

	"github.com/creditgate/creditgate/usage"
)

// A call's settle, reserve and refusal count in the usage statistics in
// the hour the call was admitted, where its reserved credits counted:
// before, a call
// admitted at 10:59 and settled at 11:01 left its reserved cost in 10:00
// and the difference in 11:00, and one refused after the hour turned left
// a call in 10:00 and minus a call in 11:00. So a correction lands where
// its call did, whatever time its caller passes.
func TestCorrectionsCountInTheAdmissionsHour(t *testing.T) {
	admitted := time.Date(2026, 3, 1, 10, 59, 0, 0, time.UTC)
	later := admitted.Add(2 * time.Minute)
	for _, end := range []string{"settle", "reserve", "refuse"} {
		t.Run(end, func(t *testing.T) {
			u := usage.New(48*time.Hour, 10)
			defer func() { _ = u.Close(context.Background()) }()
			l := mustNew(t, Plan{Name: "t", Credits: 1 << 20, Concurrency: 4}, WithUsage(u))
			req := Request{Tenant: "o", App: "a", Credits: 3}
			tk, d := l.Acquire(admitted, req)
			if !d.Allowed {
				t.Fatal(d)
			}
			want := usage.Count{Key: "o", Credits: 3, Calls: 1}
			switch end {
			case "settle":
				tk.Settle(later, 5)
				want.Credits = 5
			case "reserve":
				tk.Reserve(later, 4)
				want.Credits = 7
			case "refuse":
				tk.Refuse(later, &req)
				want = usage.Count{Key: "o", Refused: 1}
			}
			tk.Release()
			hour := admitted.Truncate(time.Hour)
			rows := u.TenantRows(hour, hour.Add(time.Hour))
			if len(rows) != 1 || rows[0] != want {
				t.Errorf("the admission's hour: %+v, want %+v", rows, want)
			}
			if rows := u.TenantRows(hour.Add(time.Hour), hour.Add(2*time.Hour)); len(rows) != 0 {
				t.Errorf("the next hour: %+v, want nothing", rows)
			}
		})
	}
}
