package limiter

import (
	"context"
	"testing"
	"time"

	"github.com/creditgate/creditgate/usage"
)

// Refuse with no request (nil) still refunds and releases, and keeps the
// statistics consistent: the call stays a call, its credits refunded, as
// Settle(0) and Release would leave it. With a request naming another
// tenant, the refusal goes where the call was counted: the ticket's tenant
// and application, as its settles do.
func TestTicketRefuseRequestArgument(t *testing.T) {
	u := usage.New(time.Hour, 10)
	defer func() { _ = u.Close(context.Background()) }()
	l := mustNew(t, Plan{Name: "t", Credits: 100, Concurrency: 1}, WithUsage(u))
	req := Request{Tenant: "o", App: "a", Module: "m", IP: "ip", User: "bob", Method: "POST", Credits: 3}
	tk, d := l.Acquire(t0, req)
	if !d.Allowed {
		t.Fatal(d)
	}
	if !tk.Refuse(t0, nil) {
		t.Fatal("Refuse(nil) did not release")
	}
	if d := l.Peek(t0, "o"); d.Remaining != 100 {
		t.Errorf("%d credits remain, want 100", d.Remaining)
	}
	tk, d = l.Acquire(t0, req)
	if !d.Allowed {
		t.Fatalf("the slot is not back: %+v", d)
	}
	other := req
	other.Tenant, other.App = "x", "y"
	if !tk.Refuse(t0, &other) {
		t.Fatal("Refuse did not release")
	}
	for dim := range usage.Method + 1 {
		rows := u.Rows("o", dim, t0, t0.Add(time.Hour), 5)
		if len(rows) != 1 {
			t.Fatalf("dimension %d: %+v", dim, rows)
		}
		// The first admission stays a call, its credits refunded where
		// Settle(0) refunds them (the application's rows: settles go by
		// application only); the second is a refusal, on the ticket's
		// tenant and application.
		want := int64(3)
		if dim == usage.App {
			want = 0
		}
		if c := rows[0]; c.Credits != want || c.Calls != 1 || c.Refused != 1 {
			t.Errorf("dimension %d: %+v, want %d credits, 1 call, 1 refusal", dim, c, want)
		}
	}
	if rows := u.Rows("x", usage.App, t0, t0.Add(time.Hour), 5); len(rows) != 0 {
		t.Errorf("tenant x has rows: %+v", rows)
	}
}
