package limiter

import (
	"context"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/store/memory"
	"github.com/creditgate/creditgate/usage"
)

// gatedStore holds every exact Settle (a Reserve's) until gate closes, so a
// test can act on a ticket's copy while a Reserve runs on another.
type gatedStore struct {
	*memory.Store
	entered chan struct{}
	gate    chan struct{}
}

func (s *gatedStore) Settle(now time.Time, l *memory.Lease, delta int64, exact bool) store.Decision {
	if exact {
		s.entered <- struct{}{}
		<-s.gate
	}
	return s.Store.Settle(now, l, delta, exact)
}

// TestTicketCopiesDuringReserve: a Settle or a Reserve on one copy of a
// ticket while a Reserve runs on another waits for it, as Release does,
// and then takes effect: the Settle (the first) is not dropped, which kept
// the reservation spent, and the second Reserve is not refused for credits
// the pool has.
func TestTicketCopiesDuringReserve(t *testing.T) {
	for _, second := range []string{"settle", "reserve"} {
		t.Run(second, func(t *testing.T) {
			gs := &gatedStore{Store: memory.New(), entered: make(chan struct{}, 2), gate: make(chan struct{})}
			l := mustNew(t, testPlan(), WithStore[memory.Lease](gs))
			tk, d := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 10})
			if !d.Allowed {
				t.Fatal(d)
			}
			first := make(chan Decision, 1)
			go func() { cp := tk; first <- cp.Reserve(t0, 5) }()
			<-gs.entered // the Reserve runs, on a copy
			done := make(chan Decision, 1)
			go func() {
				if second == "settle" {
					tk.Settle(t0, 0)
					done <- Decision{Allowed: true}
				} else {
					done <- tk.Reserve(t0, 7)
				}
			}()
			var d2 Decision
			returned := false
			select {
			case d2 = <-done: // it did not wait for the Reserve
				returned = true
			case <-time.After(100 * time.Millisecond):
			}
			close(gs.gate)
			if d := <-first; !d.Allowed {
				t.Fatalf("first Reserve: %+v", d)
			}
			if !returned {
				d2 = <-done
			}
			tk.Release()
			want := int64(0) // Settle(0): the admission's and the Reserve's credits refunded
			if second == "reserve" {
				want = 10 + 5 + 7
			}
			if !d2.Allowed || l.Peek(t0, "o").Remaining != 100-want {
				t.Fatalf("%s during a Reserve on a copy: %+v, remaining %d (want %d)", second, d2, l.Peek(t0, "o").Remaining, 100-want)
			}
		})
	}
}

// Refuse gives back a ticket whose request was refused after admission:
// its credits (the admission's and a granted Reserve's) are back in the
// pool, its slot is free, and the usage statistics show one refusal, no
// call and no credits, by every key; Release and Refuse after it do
// nothing. The zero ticket's Refuse does nothing.
func TestTicketRefuse(t *testing.T) {
	u := usage.New(time.Hour, 10)
	defer func() { _ = u.Close(context.Background()) }()
	l := mustNew(t, Plan{Name: "t", Credits: 100, Concurrency: 1}, WithUsage(u))
	req := Request{Tenant: "o", App: "a", Module: "m", IP: "ip", User: "bob", Method: "POST", Credits: 3}
	tk, d := l.Acquire(t0, req)
	if !d.Allowed {
		t.Fatal(d)
	}
	if rd := tk.Reserve(t0, 4); !rd.Allowed {
		t.Fatal(rd)
	}
	if !tk.Refuse(t0, &req) || tk.Release() || tk.Refuse(t0, &req) || (Ticket{}).Refuse(t0, &req) {
		t.Fatal("Refuse reports as Release does: true the first time only")
	}
	if d := l.Peek(t0, "o"); d.Remaining != 100 {
		t.Errorf("%d credits remain, want 100", d.Remaining)
	}
	tk2, d := l.Acquire(t0, req)
	if !d.Allowed {
		t.Errorf("the slot is not back: %+v", d)
	}
	defer tk2.Release()
	for dim := range usage.Method + 1 {
		rows := u.Rows("o", dim, t0, t0.Add(time.Hour), 5)
		if len(rows) != 1 {
			t.Fatalf("dimension %d: %+v", dim, rows)
		}
		// The second Acquire is a call of 3 credits.
		if c := rows[0]; c.Credits != 3 || c.Calls != 1 || c.Refused != 1 {
			t.Errorf("dimension %d: %+v, want 3 credits, 1 call (the second Acquire), 1 refusal", dim, c)
		}
	}
}
