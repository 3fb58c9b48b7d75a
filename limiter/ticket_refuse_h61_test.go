package limiter

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/creditgate/creditgate/usage"
)

// Helper-61: Refuse against the other ends of a ticket, on copies, in every
// order and at once. Whatever wins, the slot is released once (the next
// Acquire of a one-slot plan is admitted, exactly one end reports true),
// the credits are refunded at most once, and the usage statistics count
// the request either as a call (its credits spent) or as a refusal (its
// credits back), never both nor neither.
func TestTicketRefuseRaces(t *testing.T) {
	const cost = 3
	ends := map[string]func(tk Ticket, req *Request) bool{
		"refuse":  func(tk Ticket, req *Request) bool { return tk.Refuse(t0, req) },
		"release": func(tk Ticket, _ *Request) bool { return tk.Release() },
		"settle0": func(tk Ticket, _ *Request) bool { tk.Settle(t0, 0); return false },
		"settle9": func(tk Ticket, _ *Request) bool { tk.Settle(t0, 9); return false },
		"reserve": func(tk Ticket, _ *Request) bool { tk.Reserve(t0, 2); return false },
	}
	for _, other := range []string{"refuse", "release", "settle0", "settle9", "reserve"} {
		t.Run(other, func(t *testing.T) {
			u := usage.New(time.Hour, 10)
			defer func() { _ = u.Close(context.Background()) }()
			l := mustNew(t, Plan{Name: "t", Credits: 1 << 20, Concurrency: 1}, WithUsage(u))
			req := Request{Tenant: "o", App: "a", Credits: cost}
			const rounds = 300
			for range rounds {
				tk, d := l.Acquire(t0, req)
				if !d.Allowed {
					t.Fatalf("the slot was not released: %+v", d)
				}
				var wg sync.WaitGroup
				var trues sync.Map
				for i, f := range []func(Ticket, *Request) bool{ends["refuse"], ends[other], ends["refuse"]} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						cp := tk
						if f(cp, &req) {
							trues.Store(i, true)
						}
					}()
				}
				wg.Wait()
				released := tk.Release() // settles and reserves do not release
				trues.Range(func(any, any) bool {
					if released {
						t.Fatal("released twice")
					}
					released = true
					return true
				})
				n := 0
				trues.Range(func(any, any) bool { n++; return true })
				if n > 1 || !released {
					t.Fatalf("%d ends reported the release, released %v", n, released)
				}
			}
			rows := u.Rows("o", usage.App, t0, t0.Add(time.Hour), 5)
			if len(rows) != 1 {
				t.Fatalf("rows %+v", rows)
			}
			c := rows[0]
			used := l.Peek(t0, "o").Used
			if c.Calls+c.Refused != rounds || c.Calls < 0 || c.Refused < 0 {
				t.Fatalf("%+v: calls and refusals do not add up to %d admissions", c, rounds)
			}
			if c.Credits != used {
				t.Fatalf("usage counts %d credits (%+v), the pool %d used", c.Credits, c, used)
			}
			if other == "refuse" && (c.Calls != 0 || used != 0) {
				t.Fatalf("only Refuse: %+v, %d used", c, used)
			}
		})
	}
}

// A stale copy's Refuse, after its state went to another admission, does
// nothing to that admission: no refund, no release, no refusal counted.
func TestTicketRefuseStaleCopy(t *testing.T) {
	u := usage.New(time.Hour, 10)
	defer func() { _ = u.Close(context.Background()) }()
	l := mustNew(t, Plan{Name: "t", Credits: 100, Concurrency: 1}, WithUsage(u))
	req := Request{Tenant: "o", App: "a", Credits: 5}
	for range 50 {
		tk, d := l.Acquire(t0, req)
		if !d.Allowed {
			t.Fatal(d)
		}
		tk.Settle(t0, 1)
		tk.Release()
		tk2, d := l.Acquire(t0, req) // most likely the same pooled state
		if !d.Allowed {
			t.Fatal(d)
		}
		if tk.Refuse(t0, &req) {
			t.Fatal("a stale copy's Refuse reported a release")
		}
		if _, d := l.Acquire(t0, req); d.Allowed {
			t.Fatal("a stale copy's Refuse released the new admission's slot")
		}
		if !tk2.Refuse(t0, &req) {
			t.Fatal("Refuse of the live ticket did not release")
		}
	}
	rows := u.Rows("o", usage.App, t0, t0.Add(time.Hour), 5)
	if d := l.Peek(t0, "o"); d.Used != 50 || len(rows) != 1 || rows[0].Calls != 50 || rows[0].Refused != 100 || rows[0].Credits != 50 {
		t.Fatalf("used %d, rows %+v: want 50 used, 50 calls of 1 credit, 100 refusals (50 at admission, 50 refused)", d.Used, rows)
	}
}
