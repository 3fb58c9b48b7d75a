package memory

import (
	"math"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/window"
)

// TestFullStoreRetryAfterPastEnds: a full store's refusal says when room
// comes, and at instants before 1678 or after 2262 that is as soon as it
// is between them. A sweep there mixed two readings of now: records'
// expiries in the windows' (window.UnixNano, clamped) and idle tenants'
// in time's UnixNano, which wraps (1600 reads as 2184). At 1600 the
// earliest was the clamped 1678 one and the refusal said "retry in 77
// years"; after 2262 a wrapped reading lay in 1678 and room was "due" at
// once, so every refusal swept the store again.
func TestFullStoreRetryAfterPastEnds(t *testing.T) {
	plan := &store.Plan{Name: "p", Credits: 100, Window: time.Hour, Concurrency: 4}
	plans := func(string) *store.Plan { return plan }
	for _, at := range []time.Time{
		time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2600, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		s := New(WithMaxTenants(1), WithIdleAfter(time.Minute))
		var l Lease
		var d store.Decision
		r130SpendAll(t, s, at, plans)
		// Held by a: b is refused until a is idle (a minute) and folded.
		later := at.Add(10 * time.Second)
		s.Take(later, &store.Request{Tenant: "b", App: "x", Credits: 1}, plans, &l, &d)
		if d.Allowed || d.Reason != store.ReasonTenants {
			t.Fatalf("%v: second tenant not refused for room: %+v", at, d)
		}
		if d.RetryAfter < time.Second || d.RetryAfter > time.Minute {
			t.Errorf("%v: refused for room with RetryAfter %v; want 1s to 1m (a is idle a minute after its call)", at, d.RetryAfter)
		}
	}
}

// TestFullStoreSweepsBefore1970: a full store sweeps for room at any
// instant. Its "no sweep before" instant started at 0 (the zero value), so
// a store full at an instant before 1970 never swept: a tenant idle for an
// hour still held the only place, and every new tenant was refused.
func TestFullStoreSweepsBefore1970(t *testing.T) {
	plan := &store.Plan{Name: "p", Credits: 100, Window: time.Hour, Concurrency: 4}
	plans := func(string) *store.Plan { return plan }
	at := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(WithMaxTenants(1), WithIdleAfter(time.Minute))
	var l Lease
	var d store.Decision
	r130SpendAll(t, s, at, plans)
	s.Take(at.Add(time.Hour), &store.Request{Tenant: "b", App: "x", Credits: 1}, plans, &l, &d)
	if !d.Allowed {
		t.Fatalf("an hour after a's one call, b is refused: %+v; want a folded and b admitted", d)
	}
	s.Release(&l)
}

// TestAddNsSaturates: addNs never wraps, from either end of int64.
func TestAddNsSaturates(t *testing.T) {
	for _, c := range []struct{ ns, d, want int64 }{
		{0, 5, 5},
		{math.MinInt64, int64(time.Second), math.MinInt64 + int64(time.Second)},
		{math.MaxInt64 - 10, 5, math.MaxInt64 - 5},
		{math.MaxInt64 - 10, int64(time.Second), math.MaxInt64},
		{math.MaxInt64, 0, math.MaxInt64},
	} {
		if got := addNs(c.ns, c.d); got != c.want {
			t.Errorf("addNs(%d, %d) = %d, want %d", c.ns, c.d, got, c.want)
		}
	}
}

// TestTenantsRetryAfterAcrossEnds: the room a sweep saw coming at one end
// of time, asked about at the other, gives a RetryAfter of at least a
// second and never one that wrapped. (A guard of the arithmetic: time.Sub,
// used before, saturated; a difference of two int64 readings wraps.)
func TestTenantsRetryAfterAcrossEnds(t *testing.T) {
	s := New()
	low, high := time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2600, 1, 1, 0, 0, 0, 0, time.UTC)
	s.nextRoom.Store(window.UnixNano(low))
	if d := s.tenantsRetryAfter(high); d != time.Second {
		t.Errorf("room due in 1678, asked in 2262: RetryAfter %v, want 1s", d)
	}
	s.nextRoom.Store(window.UnixNano(high))
	if d := s.tenantsRetryAfter(low); d < 290*365*24*time.Hour {
		t.Errorf("room due in 2262, asked in 1678: RetryAfter %v, want the whole span", d)
	}
}
