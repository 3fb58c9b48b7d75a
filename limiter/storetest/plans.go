package storetest

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

func testSetPlan[L any](t *testing.T, s store.Store[L]) {
	l, _ := take(t, s, T0, req("t", "a", 90), store.ReasonNone)
	up := Plan()
	up.Credits, up.Concurrency = 200, 1
	if err := s.SetPlan(T0, "t", &up); err != nil {
		t.Fatal(err)
	}
	if d := s.Peek(T0, "t", 0, planFor(up)); d.Limit != 200 || d.Remaining != 110 {
		t.Fatalf("an upgrade keeps what is spent: %+v", d)
	}
	takeWith(t, s, planFor(up), T0, req("t", "a", 1), store.ReasonConcurrency) // the cut applies to held slots
	s.Release(l)
	l2, _ := takeWith(t, s, planFor(up), T0, req("t", "a", 110), store.ReasonNone)
	s.Release(l2)
	if err := s.SetPlan(T0, "absent", &up); err != nil {
		t.Fatal(err) // not created either:
	}
	if d := s.Peek(T0, "absent", 0, defaultPlan); d.Limit != 100 {
		t.Fatalf("SetPlan created a tenant: %+v", d)
	}
}

// A new window length: what was spent carries over, coming back when it
// would have.
func testSetPlanWindow[L any](t *testing.T, s store.Store[L]) {
	l, _ := take(t, s, T0, req("t", "a", 60), store.ReasonNone)
	s.Release(l)
	long := Plan()
	long.Window = 3 * time.Hour
	if err := s.SetPlan(T0.Add(time.Minute), "t", &long); err != nil {
		t.Fatal(err)
	}
	pf := planFor(long)
	at := func(d time.Duration) store.Decision { return s.Peek(T0.Add(d), "t", 0, pf) }
	if d := at(time.Minute); d.Remaining != 40 || d.Window != 3*time.Hour {
		t.Fatalf("after the change: %+v", d)
	}
	if d := at(2 * time.Hour); d.Remaining != 40 {
		t.Fatalf("spent at T0, back before T0+3h under the longer window: %+v", d)
	}
	if d := at(4 * time.Hour); d.Remaining != 100 {
		t.Fatalf("a window later: %+v", d)
	}
}

// A calendar pool comes back whole at midnight in its location.
func testCalendar[L any](t *testing.T, s store.Store[L]) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	p := Plan()
	p.Window, p.Calendar = 24*time.Hour, &store.Calendar{Location: la}
	pf := planFor(p)
	evening := time.Date(2026, 3, 2, 22, 0, 0, 0, la)
	l, d := takeWith(t, s, pf, evening, req("t", "a", 100), store.ReasonNone)
	s.Release(l)
	midnight := time.Date(2026, 3, 3, 0, 0, 0, 0, la)
	if !d.Reset.Equal(midnight) || d.Window != 24*time.Hour {
		t.Fatalf("a calendar pool resets at midnight: %+v", d)
	}
	_, d = takeWith(t, s, pf, evening.Add(time.Hour), req("t", "a", 1), store.ReasonCredits)
	if d.RetryAfter != time.Hour {
		t.Fatalf("retry at midnight, an hour on: %+v", d)
	}
	l, _ = takeWith(t, s, pf, midnight.Add(time.Minute), req("t", "a", 100), store.ReasonNone)
	s.Release(l)
}

// Every window of a compound plan must admit; a refusal takes nothing.
func testCompound[L any](t *testing.T, s store.Store[L]) {
	p := Plan()
	p.Extra = []store.WindowLimit{{Credits: 10, Window: time.Minute}}
	pf := planFor(p)
	l, d := takeWith(t, s, pf, T0, req("t", "a", 8), store.ReasonNone)
	if d.Remaining != 2 || d.Used != 8 || d.Limit != 100 {
		t.Fatalf("the tightest window's remainder: %+v", d)
	}
	s.Release(l)
	takeWith(t, s, pf, T0, req("t", "a", 3), store.ReasonCredits)
	if d := s.Peek(T0, "t", 0, pf); d.Used != 8 || d.Remaining != 2 {
		t.Fatalf("the refusal took something: %+v", d)
	}
	l, _ = takeWith(t, s, pf, T0.Add(5*time.Minute), req("t", "a", 10), store.ReasonNone)
	s.Release(l)
	if d := s.Peek(T0.Add(5*time.Minute), "t", 0, pf); d.Used != 18 || d.Remaining != 0 {
		t.Fatalf("the pool keeps both takes: %+v", d)
	}
}

// A store that saves snapshots restores what it saved into a fresh store:
// the spent credits come back when they would have, the default tenant
// included. A store that is not a store.Snapshotter has nothing to check.
func testSnapshot[L any](t *testing.T, newStore func() store.Store[L]) {
	s := newStore()
	snap, ok := s.(store.Snapshotter)
	if !ok {
		t.Log("not a store.Snapshotter")
		return
	}
	for i, tenant := range []string{"a", "b", ""} {
		l, _ := take(t, s, T0.Add(time.Duration(i)*10*time.Minute), req(tenant, "x", int64(10*(i+1))), store.ReasonNone)
		s.Release(l)
	}
	var buf bytes.Buffer
	if err := snap.SnapshotAt(T0.Add(30*time.Minute), &buf); err != nil {
		t.Fatal(err)
	}
	fresh := newStore()
	into := fresh.(store.Snapshotter)
	if err := into.RestoreAt(T0, strings.NewReader("{"), defaultPlan); !errors.Is(err, store.ErrSnapshotCorrupt) {
		t.Fatalf("a corrupt snapshot: %v", err)
	}
	if err := into.RestoreAt(T0.Add(35*time.Minute), bytes.NewReader(buf.Bytes()), defaultPlan); err != nil {
		t.Fatal(err)
	}
	for i, tenant := range []string{"a", "b", ""} {
		spent := int64(10 * (i + 1))
		remaining(t, fresh, T0.Add(36*time.Minute), tenant, 100-spent)
		// Spent at T0+10i minutes: back an hour later, not at the restore's hour.
		at := T0.Add(time.Duration(i)*10*time.Minute + 50*time.Minute)
		remaining(t, fresh, at, tenant, 100-spent)
		remaining(t, fresh, at.Add(25*time.Minute), tenant, 100)
	}
}

// A partial settle or charge on a plan with an extra window: the pool takes
// what it has left, the extra window up to that (every window keeps its own
// charge), and the Decision describes the pool, whose Used it reports: Cost
// is the pool's charge, so that Used-Cost is its use before the step. It
// said the least any window took (a settle of +60: pool +49, hourly +9,
// Cost 9, Used 50), and an alert threshold between 1 and 41 % was missed.
func testCompoundPartial[L any](t *testing.T, s store.Store[L]) {
	p := Plan()
	p.Credits, p.Window = 50, 24*time.Hour
	p.Extra = []store.WindowLimit{{Credits: 10, Window: time.Hour}}
	pf := planFor(p)
	l, _ := takeWith(t, s, pf, T0, req("t", "a", 1), store.ReasonNone)
	d := s.Settle(T0.Add(time.Minute), l, 60, false)
	if !d.Allowed || d.Cost != 49 || d.Used != 50 || d.Remaining != 0 {
		t.Fatalf("settle +60 with 49 left in the pool and 9 in the hour: %+v, want Cost 49, Used 50", d)
	}
	s.Release(l)
	if d := s.Peek(T0.Add(time.Minute), "t", 0, pf); d.Used != 50 || d.Remaining != 0 {
		t.Fatalf("after the settle: %+v", d)
	}
	if d := s.Peek(T0.Add(2*time.Hour), "t", 0, pf); d.Used != 50 || d.Remaining != 0 {
		t.Fatalf("the hour's window back, the pool still spent: %+v", d)
	}
	// Charge: pool +50, hourly +10.
	if d := s.Charge(T0, "u", 60, pf); !d.Allowed || d.Cost != 50 || d.Used != 50 || d.Remaining != 0 {
		t.Fatalf("charge 60 with 50 in the pool and 10 in the hour: %+v, want Cost 50, Used 50", d)
	}
}

// A partial charge on a plan with two extra windows: each later window
// takes up to what the one before it took (window.Compound, the Redis
// script), so a window after a nearly full one is charged no more than it.
// Charge 60 with a day's pool of 100, an hour's 10 and two hours' 50: pool
// +60, hour +10, two hours +10. An hour later the hour's window is back and
// 10 can be taken (the two hours' window has 40 left).
func testCompoundPartialThree[L any](t *testing.T, s store.Store[L]) {
	p := Plan()
	p.Credits, p.Window = 100, 24*time.Hour
	p.Extra = []store.WindowLimit{{Credits: 10, Window: time.Hour}, {Credits: 50, Window: 2 * time.Hour}}
	pf := planFor(p)
	if d := s.Charge(T0, "t", 60, pf); !d.Allowed || d.Cost != 60 || d.Used != 60 {
		t.Fatalf("charge 60: %+v, want Cost 60, Used 60 (the pool's)", d)
	}
	at := T0.Add(time.Hour + time.Minute)
	if d := s.Peek(at, "t", 0, pf); d.Remaining != 10 {
		t.Fatalf("an hour later: %+v, want 10 remaining (the hour's window back, the two hours' charged 10)", d)
	}
}
