package limiter

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/store/memory"
	"github.com/creditgate/creditgate/usage"
)

// r127Locs are the locations the random scripts read now in: UTC, a zone
// named UTC that is not time.UTC, the process's Local, a loaded zone and
// a half-hour fixed one. One list for every run, so that a Decision's
// Reset compares with == (its location pointer included) across runs.
var r127Locs = func() []*time.Location {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		la = time.FixedZone("PST", -8*3600)
	}
	return []*time.Location{time.UTC, time.FixedZone("UTC", 0), time.Local, la, time.FixedZone("X", 5*3600+1800)}
}()

// r127Plan is a tenant's plan by its first letter: rolling with a capped
// class, calendar (in a loaded zone), compound, with add-ons.
func r127Plan(tenant string) Plan {
	switch tenant[0] {
	case 'c':
		return Plan{Name: "cal", Credits: 60, Window: 24 * time.Hour, Concurrency: 3,
			Calendar: &store.Calendar{Reset: time.Hour, Location: r127Locs[3]}}
	case 'x':
		return Plan{Name: "cmp", Credits: 80, Window: time.Hour, Concurrency: 2,
			Extra: []store.WindowLimit{{Credits: 15, Window: 10 * time.Second}}}
	case 'a':
		return Plan{Name: "add", Credits: 70, Window: time.Minute, Concurrency: 2, AddOns: 20,
			SubConcurrency: map[string]int64{"bulk": 1}}
	}
	return Plan{Name: "roll", Credits: 50, Window: time.Minute, Concurrency: 2,
		SubConcurrency: map[string]int64{"bulk": 1}}
}

// r127Script runs one random script (seed) through a limiter over a memory
// store, bound directly (memBinding) or wrapped (the generic binding), with
// usage statistics and alerts on or off, and returns everything
// observable: every Decision (compared with ==: Reset's instant, location
// pointer and monotonic reading), every result, the usage rows and the
// alerts. AcquireTo is given a Decision full of garbage half the time: it
// must come back overwritten whole.
func r127Script(t *testing.T, seed uint64, direct, withUsage, withAlerts bool) []any {
	t.Helper()
	var out []any
	var u *usage.Stats
	var log alertLog
	opts := []Option{WithPlanFor(r127Plan)}
	if direct {
		opts = append(opts, WithStore[memory.Lease](memory.New()))
	} else {
		opts = append(opts, WithStore[memory.Lease](&plainWrapped{memory.New()}))
	}
	if withUsage {
		u = usage.New(72*time.Hour, 100)
		opts = append(opts, WithUsage(u))
	}
	if withAlerts {
		opts = append(opts, WithAlerts([]int{30, 60, 90, 100}, log.add))
	}
	l, err := New(testPlan(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	if (l.mem != nil) != direct {
		t.Fatalf("paths not as meant: mem %v", l.mem != nil)
	}
	rng := rand.New(rand.NewPCG(seed, 127))
	tenants := []string{"r1", "r2", "c1", "c2", "x1", "a1", "r3", "x2"}
	apps := []string{"a", "b", "c"}
	classes := []string{"", "", "bulk", "other"}
	garbage := Decision{Allowed: true, Reason: ReasonSubConcurrency, Cost: -7, Limit: 1e9, AddOns: 3, Cap: 5, Exceeds: 9,
		Remaining: -1, Used: 42, Reset: time.Date(2001, 1, 1, 0, 0, 0, 0, r127Locs[4]), Window: time.Nanosecond, RetryAfter: time.Hour}
	type held struct {
		t   Ticket
		req Request
	}
	var tickets []held
	now := t0
	for range 700 {
		now = now.Add(time.Duration(rng.IntN(4000)) * time.Millisecond)
		if rng.IntN(50) == 0 {
			now = now.Add(time.Duration(rng.IntN(30)) * time.Hour)
		}
		at := now.In(r127Locs[rng.IntN(len(r127Locs))])
		tenant := tenants[rng.IntN(len(tenants))]
		switch op := rng.IntN(20); {
		case op < 9: // an admission
			req := Request{Tenant: tenant, App: apps[rng.IntN(len(apps))], Class: classes[rng.IntN(len(classes))],
				Credits: int64(rng.IntN(25)) - 2, Module: fmt.Sprint("m", rng.IntN(3)), Method: "GET", User: "u", IP: "ip"}
			if rng.IntN(6) == 0 {
				req.Keep = int64(rng.IntN(10))
			}
			if rng.IntN(6) == 0 {
				req.Units = int64(rng.IntN(4))
			}
			var tk Ticket
			var d Decision
			if rng.IntN(2) == 0 {
				d = garbage
				tk = l.AcquireTo(at, &req, &d)
			} else {
				tk, d = l.Acquire(at, req)
			}
			out = append(out, d, tk == Ticket{})
			if d.Allowed && d.Cost > 0 && !d.Reset.After(at) {
				t.Fatalf("admitted %+v at %v: Reset not after now", d, at)
			}
			if d.Limit > 0 && d.Reset.Location() != at.Location() {
				t.Fatalf("Reset %v in %p, now in %p", d.Reset, d.Reset.Location(), at.Location())
			}
			if d.Allowed {
				tickets = append(tickets, held{tk, req})
			}
		case op < 11 && len(tickets) > 0:
			h := tickets[rng.IntN(len(tickets))]
			h.t.Settle(at, int64(rng.IntN(40)))
		case op < 13 && len(tickets) > 0:
			h := tickets[rng.IntN(len(tickets))]
			out = append(out, h.t.Reserve(at, int64(rng.IntN(20))))
		case op < 14 && len(tickets) > 0:
			i := rng.IntN(len(tickets))
			r := &tickets[i].req
			if rng.IntN(3) == 0 {
				r = nil
			}
			out = append(out, tickets[i].t.Refuse(at, r))
			tickets = slices.Delete(tickets, i, i+1)
		case op < 17 && len(tickets) > 0:
			i := rng.IntN(len(tickets))
			out = append(out, tickets[i].t.Release())
			tickets = slices.Delete(tickets, i, i+1)
		case op == 17:
			out = append(out, l.Charge(at, tenant, int64(rng.IntN(15))))
		case op == 18 && rng.IntN(4) == 0:
			p := r127Plan(tenants[rng.IntN(len(tenants))])
			out = append(out, fmt.Sprint(l.SetPlanAt(at, tenant, p)))
		default:
			out = append(out, l.PeekN(at, tenant, int64(rng.IntN(30))))
		}
	}
	for _, h := range tickets {
		out = append(out, h.t.Release())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if u != nil {
		for _, tenant := range append(tenants, usage.Other) {
			for _, dim := range []usage.Dimension{usage.App, usage.Module, usage.IP, usage.User, usage.Method} {
				out = append(out, fmt.Sprintf("usage %s %d %+v", tenant, dim, u.Rows(tenant, dim, t0.Add(-time.Hour), now.Add(time.Hour), 100)))
			}
			out = append(out, fmt.Sprintf("series %s %+v", tenant, u.Series(tenant, t0.Add(-time.Hour), now.Add(time.Hour))))
		}
		if err := u.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	log.mu.Lock()
	got := slices.Clone(log.got)
	log.mu.Unlock()
	slices.SortStableFunc(got, func(x, y Alert) int {
		if c := x.At.Compare(y.At); c != 0 {
			return c
		}
		if x.Tenant != y.Tenant {
			if x.Tenant < y.Tenant {
				return -1
			}
			return 1
		}
		return x.Threshold - y.Threshold
	})
	for _, a := range got {
		out = append(out, fmt.Sprintf("alert %s %d %d/%d %d", a.Tenant, a.Threshold, a.Used, a.Limit, a.At.UnixNano()))
	}
	return out
}

// TestAdmissionPathsMatch_r127: the memory store's direct path (which
// since session 26 reads the caller's request and writes the caller's
// decision, and keeps the names only for usage or alerts) and the generic
// binding over the same store give the same decisions, results, usage rows
// and alerts, with usage and alerts each on and off, over random scripts
// of rolling, calendar, compound and add-on plans, every op of a ticket,
// charges, peeks and plan changes, with now in several locations and
// AcquireTo's *d full of garbage before the call.
func TestAdmissionPathsMatch_r127(t *testing.T) {
	for _, withUsage := range []bool{false, true} {
		for _, withAlerts := range []bool{false, true} {
			t.Run(fmt.Sprintf("usage=%v,alerts=%v", withUsage, withAlerts), func(t *testing.T) {
				for seed := range uint64(6) {
					direct := r127Script(t, seed, true, withUsage, withAlerts)
					generic := r127Script(t, seed, false, withUsage, withAlerts)
					if len(direct) != len(generic) {
						t.Fatalf("seed %d: %d results against %d", seed, len(direct), len(generic))
					}
					for i := range direct {
						if direct[i] != generic[i] {
							t.Fatalf("seed %d result %d differs:\n direct:  %+v\n generic: %+v", seed, i, direct[i], generic[i])
						}
					}
				}
			})
		}
	}
}
