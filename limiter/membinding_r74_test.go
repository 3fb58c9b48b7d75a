package limiter

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store/memory"
	"github.com/creditgate/creditgate/usage"
)

// plainWrapped is a *memory.Store that is not one: the limiter binds it with
// the generic binding (through the store interface), where a plain
// *memory.Store binds as memBinding. Its Snapshotter methods are promoted.
type plainWrapped struct{ *memory.Store }

// memScript runs one scripted sequence of admissions, settles, reserves,
// refusals, releases (double, stale, after settle, of the zero ticket),
// charges, plan changes and a snapshot with its restore through a limiter
// over st, under fake time, and returns everything observable: decisions,
// results, peeks, errors, the snapshot's bytes, the usage rows and the
// alerts delivered.
func memScript(t *testing.T, mk func() any) []string {
	t.Helper()
	var out []string
	logf := func(f string, a ...any) { out = append(out, fmt.Sprintf(f, a...)) }
	u := usage.New(24*time.Hour, 100)
	var log alertLog
	newL := func() *Limiter {
		var opt Option
		switch s := mk().(type) {
		case *memory.Store:
			opt = WithStore[memory.Lease](s)
		case *plainWrapped:
			opt = WithStore[memory.Lease](s)
		}
		l, err := New(Plan{Name: "t", Credits: 100, Concurrency: 2, SubConcurrency: map[string]int64{"bulk": 1}},
			opt, WithUsage(u), WithAlerts(nil, log.add),
			WithPlanFor(func(tenant string) Plan {
				if tenant == "big" {
					return Plan{Name: "big", Credits: 1000, Concurrency: 1}
				}
				return Plan{} // invalid: the default plan
			}))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := newL()
	logf("mem bound: %v", l.mem != nil)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	acq := func(name string, now time.Time, r Request) Ticket {
		tk, d := l.Acquire(now, r)
		logf("%s acquire %+v zero=%v", name, d, tk == Ticket{})
		return tk
	}
	ra := Request{Tenant: "o", App: "a", Credits: 10, Module: "m", IP: "1.2.3.4", User: "u", Method: "GET"}
	rb := Request{Tenant: "o", App: "a", Class: "bulk", Credits: 20, Module: "m2", Method: "POST"}
	a := acq("a", at(0), ra)
	b := acq("b", at(1), rb)
	acq("c (bulk full)", at(1), rb)
	acq("d (concurrency)", at(2), ra)
	logf("peek %+v", l.PeekN(at(2), "o", 90))
	bc := b
	logf("b reserve 30 %+v", b.Reserve(at(3), 30))
	logf("b reserve 200 %+v", b.Reserve(at(3), 200))
	logf("b reserve 0 %+v", b.Reserve(at(3), 0))
	b.Settle(at(4), 45)
	logf("b copy reserve after settle %+v", bc.Reserve(at(4), 1))
	bc.Settle(at(4), 0) // second settle: nothing
	logf("peek %+v", l.Peek(at(4), "o"))
	logf("b release %v %v", b.Release(), bc.Release())
	logf("b refuse after release %v", bc.Refuse(at(4), &rb))
	logf("a refuse %v, release %v, refuse again %v", a.Refuse(at(0), &ra), a.Release(), a.Refuse(at(0), &ra))
	var z Ticket
	z.Settle(at(5), 5)
	logf("zero: release %v refuse %v reserve %+v", z.Release(), z.Refuse(at(5), &ra), z.Reserve(at(5), 3))
	e := acq("e", at(6), Request{Tenant: "o", App: "b", Credits: 5})
	logf("e reserve 7 %+v", e.Reserve(at(6), 7))
	logf("e refuse nil %v release %v", e.Refuse(at(6), nil), e.Release())
	f := acq("f", at(7), Request{Tenant: "o", App: "a", Credits: 1})
	fc := f
	logf("f release %v", f.Release())
	g := acq("g", at(7), Request{Tenant: "o", App: "a", Credits: 1})
	fc.Settle(at(7), 50)
	logf("f stale: reserve %+v refuse %v release %v", fc.Reserve(at(7), 1), fc.Refuse(at(7), &ra), fc.Release())
	logf("g settle 2, release %v", func() bool { g.Settle(at(8), 2); return g.Release() }())
	logf("charge %+v", l.Charge(at(9), "o", 30))
	logf("charge big %+v", l.Charge(at(9), "big", 850))
	h := acq("big h", at(9), Request{Tenant: "big", App: "x", Credits: 60})
	acq("big (concurrency)", at(9), Request{Tenant: "big", App: "x", Credits: 1})
	logf("h settle, release %v", func() bool { h.Settle(at(9), 0); return h.Release() }())
	acq("neg credits", at(10), Request{Tenant: "o", App: "a", Credits: -5}).Release()
	logf("setplan bad %v", l.SetPlanAt(at(11), "o", Plan{Credits: -1}))
	logf("setplan %v", l.SetPlanAt(at(11), "o", Plan{Name: "up", Credits: 300, Concurrency: 1}))
	i := acq("i after setplan", at(12), Request{Tenant: "o", App: "a", Credits: 100})
	acq("j after setplan (concurrency 1)", at(12), Request{Tenant: "o", App: "a", Credits: 1})
	logf("replan %v", l.ReplanAt(at(12), "big"))
	var snap bytes.Buffer
	logf("snapshot err %v", l.SnapshotAt(at(13), &snap))
	logf("snapshot %x", snap.Bytes())
	logf("i release %v", i.Release())
	acq("late", at(13).Add(26*time.Hour), Request{Tenant: "o", App: "a", Credits: 99}).Release()
	l2 := newL()
	logf("restore %v", l2.RestoreAt(at(14), bytes.NewReader(snap.Bytes())))
	logf("restore corrupt %v", l2.RestoreAt(at(14), bytes.NewReader([]byte("junk"))))
	logf("restored peek %+v %+v", l2.Peek(at(14), "o"), l2.Peek(at(14), "big"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, x := range []*Limiter{l, l2} {
		if err := x.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, tenant := range []string{"o", "big"} {
		for _, dim := range []usage.Dimension{usage.App, usage.Module, usage.IP, usage.User, usage.Method} {
			logf("usage %s %d %+v", tenant, dim, u.Rows(tenant, dim, t0, t0.Add(48*time.Hour), 10))
		}
		logf("series %s %+v", tenant, u.Series(tenant, t0, t0.Add(48*time.Hour)))
	}
	if err := u.Close(ctx); err != nil {
		t.Fatal(err)
	}
	log.mu.Lock()
	got := slices.Clone(log.got)
	log.mu.Unlock()
	slices.SortStableFunc(got, func(x, y Alert) int { return x.At.Compare(y.At) })
	logf("alerts %+v", got)
	return out
}

// TestMemBindingMatchesGeneric: one script through a limiter over a plain
// memory store (memBinding: admission and release call the store directly)
// and one over a wrapped memory store (the generic binding) gives the same
// decisions, results, peeks, errors, snapshot, usage rows and alerts.
func TestMemBindingMatchesGeneric(t *testing.T) {
	direct := memScript(t, func() any { return memory.New() })
	generic := memScript(t, func() any { return &plainWrapped{memory.New()} })
	if direct[0] != "mem bound: true" || generic[0] != "mem bound: false" {
		t.Fatalf("paths not as meant: %q, %q", direct[0], generic[0])
	}
	if len(direct) != len(generic) {
		t.Fatalf("%d lines against %d", len(direct), len(generic))
	}
	for i := 1; i < len(direct); i++ {
		if direct[i] != generic[i] {
			t.Errorf("step %d differs:\n memBinding: %s\n generic:    %s", i, direct[i], generic[i])
		}
	}
	if testing.Verbose() {
		for _, s := range direct {
			t.Log(s)
		}
	}
}
