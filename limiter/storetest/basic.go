package storetest

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

func testAllOrNothing[L any](t *testing.T, s store.Store[L]) {
	l1, d := take(t, s, T0, req("t", "a", 10), store.ReasonNone)
	if d.Cost != 10 || d.Used != 10 || d.Remaining != 90 || d.Limit != 100 || d.RetryAfter != 0 {
		t.Fatalf("first admission: %+v", d)
	}
	l2, _ := take(t, s, T0, req("t", "a", 10), store.ReasonNone)
	_, d = take(t, s, T0, req("t", "a", 10), store.ReasonConcurrency) // no credits taken
	if d.Cost != 10 || d.RetryAfter != store.ConcurrencyRetryAfter {
		t.Fatalf("concurrency refusal: %+v", d)
	}
	remaining(t, s, T0, "t", 80)
	s.Release(l1)
	_, d = take(t, s, T0, req("t", "a", 81), store.ReasonCredits) // the slot came back
	if d.Remaining != 80 || d.RetryAfter <= 0 || d.RetryAfter > 2*time.Hour {
		t.Fatalf("credits refusal: %+v", d)
	}
	l3, _ := take(t, s, T0, req("t", "a", 80), store.ReasonNone)
	remaining(t, s, T0, "t", 0)
	s.Release(l2)
	s.Release(l3)
	l4, d := take(t, s, T0, req("t", "a", 0), store.ReasonNone) // a free call takes a slot only
	if d.Cost != 0 || d.Remaining != 0 || d.Used != 100 {
		t.Fatalf("free call: %+v", d)
	}
	s.Release(l4)
	l5, d := take(t, s, T0, req("t", "a", -5), store.ReasonNone) // a negative cost counts as 0
	if d.Cost != 0 {
		t.Fatalf("negative cost: %+v", d)
	}
	s.Release(l5)
}

func testSharedPool[L any](t *testing.T, s store.Store[L]) {
	la, _ := take(t, s, T0, req("t", "a", 60), store.ReasonNone)
	lb, _ := take(t, s, T0, req("t", "b", 40), store.ReasonNone)
	take(t, s, T0, req("t", "c", 1), store.ReasonCredits)
	s.Release(la)
	s.Release(lb)
}

func testSubConcurrency[L any](t *testing.T, s store.Store[L]) {
	bulk := func(app string) store.Request { return store.Request{Tenant: "t", App: app, Class: "bulk", Credits: 1} }
	l1, _ := take(t, s, T0, bulk("a"), store.ReasonNone)
	take(t, s, T0, bulk("b"), store.ReasonSubConcurrency)
	l2, _ := take(t, s, T0, store.Request{Tenant: "t", App: "b", Class: "uncapped", Credits: 1}, store.ReasonNone)
	remaining(t, s, T0, "t", 98) // the refusal took nothing
	s.Release(l1)
	l3, _ := take(t, s, T0, bulk("b"), store.ReasonNone)
	s.Release(l2)
	s.Release(l3)
}

// A request's Keep is a reserve it may not touch; others may.
func testKeep[L any](t *testing.T, s store.Store[L]) {
	l1, _ := take(t, s, T0, store.Request{Tenant: "t", App: "a", Credits: 90, Keep: 10}, store.ReasonNone)
	s.Release(l1)
	_, d := take(t, s, T0, store.Request{Tenant: "t", App: "a", Credits: 1, Keep: 10}, store.ReasonCredits)
	if d.Remaining != 10 || d.RetryAfter <= 0 {
		t.Fatalf("a take into the reserve: %+v", d)
	}
	l2, d := take(t, s, T0, store.Request{Tenant: "t", App: "forms", Credits: 10}, store.ReasonNone)
	if d.Remaining != 0 {
		t.Fatalf("the reserve's owner: %+v", d)
	}
	s.Release(l2)
}

func testWindowReturns[L any](t *testing.T, s store.Store[L]) {
	l, _ := take(t, s, T0, req("t", "a", 100), store.ReasonNone)
	s.Release(l)
	d := s.Peek(T0.Add(30*time.Minute), "t", 1, defaultPlan)
	if d.Remaining != 0 || d.Reset.Before(T0.Add(time.Hour)) || d.Reset.After(T0.Add(2*time.Hour)) {
		t.Fatalf("half a window later: %+v", d)
	}
	if d.RetryAfter < 30*time.Minute || d.RetryAfter > 90*time.Minute {
		t.Fatalf("half a window later, one credit is back in %v", d.RetryAfter)
	}
	take(t, s, T0.Add(30*time.Minute), req("t", "a", 1), store.ReasonCredits)
	remaining(t, s, T0.Add(59*time.Minute), "t", 0) // never early
	remaining(t, s, T0.Add(2*time.Hour), "t", 100)
}

func testSettleRefund[L any](t *testing.T, s store.Store[L]) {
	l, _ := take(t, s, T0, req("t", "a", 10), store.ReasonNone)
	if d := s.Settle(T0.Add(time.Minute), l, -4, false); d.Cost != -4 || d.Remaining != 94 || d.Used != 6 {
		t.Fatalf("refund 4: %+v", d)
	}
	if d := s.Settle(T0.Add(time.Minute), l, -6, false); d.Cost != -6 || d.Remaining != 100 || d.Used != 0 {
		t.Fatalf("refund the rest: %+v", d)
	}
	s.Release(l)
	remaining(t, s, T0.Add(time.Minute), "t", 100)
}

// A charge beyond what the pool has left is cut short, and says so.
func testSettleCharge[L any](t *testing.T, s store.Store[L]) {
	l, _ := take(t, s, T0, req("t", "a", 85), store.ReasonNone)
	d := s.Settle(T0.Add(time.Minute), l, 20, false)
	if !d.Allowed || d.Cost != 15 || d.Used != 100 || d.Remaining != 0 {
		t.Fatalf("charge 20 with 15 left: %+v", d)
	}
	s.Release(l)
	remaining(t, s, T0.Add(time.Minute), "t", 0)
	remaining(t, s, T0.Add(3*time.Hour), "t", 100)
}

// An exact charge takes all or nothing.
func testSettleExact[L any](t *testing.T, s store.Store[L]) {
	l, _ := take(t, s, T0, req("t", "a", 50), store.ReasonNone)
	if d := s.Settle(T0, l, 30, true); !d.Allowed || d.Cost != 30 || d.Used != 80 {
		t.Fatalf("exact 30 of 50 left: %+v", d)
	}
	d := s.Settle(T0, l, 21, true)
	if d.Allowed || d.Reason != store.ReasonCredits || d.RetryAfter <= 0 {
		t.Fatalf("exact 21 of 20 left: %+v", d)
	}
	remaining(t, s, T0, "t", 20)
	s.Release(l)
}

// Charge books spending made elsewhere: no slots, up to what is left.
func testCharge[L any](t *testing.T, s store.Store[L]) {
	if d := s.Charge(T0, "t", 30, defaultPlan); !d.Allowed || d.Cost != 30 || d.Remaining != 70 || d.Used != 30 {
		t.Fatalf("charge 30: %+v", d)
	}
	if d := s.Charge(T0, "t", 80, defaultPlan); d.Cost != 70 || d.Remaining != 0 {
		t.Fatalf("charge 80 of 70: %+v", d)
	}
	l1, _ := take(t, s, T0, req("t", "a", 0), store.ReasonNone) // slots untouched
	l2, _ := take(t, s, T0, req("t", "a", 0), store.ReasonNone)
	s.Release(l1)
	s.Release(l2)
	remaining(t, s, T0.Add(3*time.Hour), "t", 100)
}

func testPeek[L any](t *testing.T, s store.Store[L]) {
	remaining(t, s, T0, "new", 100)
	if d := s.Peek(T0, "new", 101, defaultPlan); d.RetryAfter <= 0 {
		t.Fatalf("more than the pool: %+v", d)
	}
	l, _ := take(t, s, T0, req("new", "a", 5), store.ReasonNone)
	remaining(t, s, T0, "new", 95)
	remaining(t, s, T0, "new", 95)
	if d := s.Peek(T0, "new", 95, defaultPlan); d.RetryAfter != 0 || d.Used != 5 {
		t.Fatalf("95 of 95: %+v", d)
	}
	if d := s.Peek(T0, "new", 96, defaultPlan); d.RetryAfter < 59*time.Minute || d.RetryAfter > 2*time.Hour {
		t.Fatalf("96 of 95: %+v", d)
	}
	s.Release(l)
}

func testIsolated[L any](t *testing.T, s store.Store[L]) {
	l, _ := take(t, s, T0, req("x", "a", 100), store.ReasonNone)
	l2, _ := take(t, s, T0, req("y", "a", 100), store.ReasonNone)
	remaining(t, s, T0, "x", 0)
	l3, _ := take(t, s, T0, req("", "a", 7), store.ReasonNone) // the default tenant is a tenant too
	remaining(t, s, T0, "", 93)
	s.Release(l)
	s.Release(l2)
	s.Release(l3)
}

// A caller whose clock is behind is counted at the newest instant seen: its
// credits never come back earlier than that instant's would.
func testClockBackwards[L any](t *testing.T, s store.Store[L]) {
	l1, _ := take(t, s, T0.Add(30*time.Minute), req("t", "a", 60), store.ReasonNone)
	s.Release(l1)
	l2, _ := take(t, s, T0, req("t", "a", 40), store.ReasonNone) // an hour's clock skew back
	s.Release(l2)
	take(t, s, T0, req("t", "a", 1), store.ReasonCredits)
	remaining(t, s, T0.Add(70*time.Minute), "t", 0) // T0's credits would be back, the frontier's are not
	remaining(t, s, T0.Add(3*time.Hour), "t", 100)
}

// Days pass in one step: the pool is whole again and takes normally.
func testClockJumps[L any](t *testing.T, s store.Store[L]) {
	for day := range 4 {
		at := T0.Add(time.Duration(day*100) * 24 * time.Hour)
		l, _ := take(t, s, at, req("t", "a", 100), store.ReasonNone)
		s.Release(l)
		take(t, s, at.Add(time.Minute), req("t", "a", 1), store.ReasonCredits)
	}
}
