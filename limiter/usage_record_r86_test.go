package limiter

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/creditgate/creditgate/usage"
)

// Reviewer-86: what an admission records (RecordRequest on the caller's
// Request) is what RecordIn records of the decision as an Event: the
// decision's cost (not the request's Credits: a negative one costs 0), a
// refusal for a refused decision, req's six keys, and the fold report,
// through Acquire and through AcquireTo with one Request that the caller
// rewrites after each call (new strings, as a middleware's next request
// would bring), with bursts of the same strings (open runs) and a tenant
// named "other".
func TestAdmissionRecordsAsRecordIn(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 59, 0, 0, time.UTC)
	u := usage.New(0, 100)
	t.Cleanup(func() { _ = u.Close(context.Background()) })
	ref := usage.New(0, 100)
	t.Cleanup(func() { _ = ref.Close(context.Background()) })
	l := mustNew(t, Plan{Name: "t", Credits: 400, Concurrency: 3}, WithUsage(u))
	tenants := []string{"acme", "globex", strings.Clone(usage.Other), ""}
	apps := []string{"sync", "web", ""}
	rng := rand.New(rand.NewPCG(86, 1))
	var held []Ticket
	var req Request // AcquireTo's, rewritten after each call
	refused, admitted, negative := 0, 0, 0
	for i := range 3000 {
		at := t0.Add(time.Duration(i/20) * time.Second) // across 11:00
		if i%40 < 25 {                                  // a burst: the very same strings
			req = Request{Tenant: tenants[0], App: apps[0], Module: "Leads", Method: "GET", Credits: 1}
		} else {
			req = Request{Tenant: tenants[rng.IntN(len(tenants))], App: apps[rng.IntN(len(apps))],
				Module: fmt.Sprint("M", rng.IntN(3)), IP: fmt.Sprint("10.0.0.", rng.IntN(2)), User: fmt.Sprint("u", rng.IntN(2)),
				Method: "POST", Credits: int64(rng.IntN(7)) - 2}
		}
		e := usage.Event{At: at, Tenant: req.Tenant, App: req.App, Module: req.Module, IP: req.IP, User: req.User, Method: req.Method}
		var tk Ticket
		var d Decision
		if i%2 == 0 {
			tk = l.AcquireTo(at, &req, &d)
			req = Request{Tenant: strings.Clone(req.Tenant), App: "rewritten", Module: "x", Credits: 99} // the caller's next
		} else {
			tk, d = l.Acquire(at, req)
		}
		e.Credits, e.Refused = d.Cost, !d.Allowed
		folded := ref.RecordIn(0, &e)
		if d.Allowed {
			admitted++
			if tk.h.folded != folded {
				t.Fatalf("call %d (%+v): the ticket says folded %v, RecordIn %v", i, e, tk.h.folded, folded)
			}
			held = append(held, tk)
		} else {
			refused++
		}
		if e.Credits == 0 && i%40 >= 25 {
			negative++
		}
		if len(held) == 3 || rng.IntN(3) == 0 {
			for _, h := range held {
				h.Release()
			}
			held = held[:0]
		}
	}
	for _, h := range held {
		h.Release()
	}
	if refused == 0 || admitted == 0 || negative == 0 {
		t.Fatalf("%d refused, %d admitted, %d free: the test missed a path", refused, admitted, negative)
	}
	for h := t0.Truncate(time.Hour).Add(-time.Hour); h.Before(t0.Add(2 * time.Hour)); h = h.Add(time.Hour) {
		if a, b := fmt.Sprint(u.TenantRows(h, h.Add(time.Hour))), fmt.Sprint(ref.TenantRows(h, h.Add(time.Hour))); a != b {
			t.Fatalf("hour %v: the limiter's rows %s, RecordIn's %s", h, a, b)
		}
		for _, ten := range tenants {
			for _, dim := range []usage.Dimension{usage.App, usage.Module, usage.IP, usage.User, usage.Method} {
				if a, b := fmt.Sprint(u.Top(ten, dim, h, h.Add(time.Hour), 10)), fmt.Sprint(ref.Top(ten, dim, h, h.Add(time.Hour), 10)); a != b {
					t.Fatalf("hour %v tenant %q dimension %d: the limiter's %s, RecordIn's %s", h, ten, dim, a, b)
				}
			}
		}
	}
}
