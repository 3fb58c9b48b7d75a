package memory

import (
	"bytes"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// r130Plans are a rolling and a calendar plan of 100 credits an hour, and
// for each a plan of another shape (an extra window), so that SetPlan
// replaces the windows and carries what they spent (see carryInto).
// r130SpendAll takes tenant a's whole pool (100 credits) at at and
// releases the call.
func r130SpendAll(t *testing.T, s *Store, at time.Time, plans store.PlanFunc) {
	t.Helper()
	var l Lease
	var d store.Decision
	s.Take(at, &store.Request{Tenant: "a", App: "x", Credits: 100}, plans, &l, &d)
	if !d.Allowed {
		t.Fatalf("refused the first 100 at %v: %+v", at, d)
	}
	s.Release(&l)
}

func r130Plans() [][2]*store.Plan {
	roll := &store.Plan{Name: "roll", Credits: 100, Window: time.Hour, Concurrency: 4}
	cal := &store.Plan{Name: "cal", Credits: 100, Window: time.Hour, Concurrency: 4,
		Calendar: &store.Calendar{Location: time.UTC}}
	extra := []store.WindowLimit{{Credits: 1000, Window: 24 * time.Hour}}
	roll2, cal2 := *roll, *cal
	roll2.Name, cal2.Name = "roll2", "cal2"
	roll2.Extra, cal2.Extra = extra, extra
	return [][2]*store.Plan{{roll, &roll2}, {cal, &cal2}}
}

// TestR130SetPlanPastHighEndKeepsSpent: past 2262 every instant reads as
// the clamp's last second (window.UnixNano), so credits spent within the
// last window length before it never come back, rolling or calendar (s28: "past 2262 a calendar window's
// credits now never come back, as the rolling window's"): a take of one
// more is refused. A plan change, a snapshot restored or a fold and unfold
// must keep that. They carry the spends by their return instant, which past
// 2262 is the last instant a Unix ns holds (2262-04-11 23:47:16.85), and
// carryInto drops every return not After(now): at 2600 the pool comes back
// full.
func TestR130SetPlanPastHighEndKeepsSpent(t *testing.T) {
	// Spent within what a Unix ns holds, half an hour before its end, and
	// read at 2600, which reads as that end: the hour never passes.
	at := time.Date(2262, 4, 11, 23, 15, 0, 0, time.UTC)
	later := time.Date(2600, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, pp := range r130Plans() {
		p, p2 := pp[0], pp[1]
		cur := p
		plans := func(string) *store.Plan { return cur }
		take := func(s *Store, now time.Time, n int64) store.Decision {
			var l Lease
			var d store.Decision
			s.Take(now, &store.Request{Tenant: "a", App: "x", Credits: n}, plans, &l, &d)
			if d.Allowed {
				s.Release(&l)
			}
			return d
		}
		fresh := func() *Store {
			cur = p
			s := New(WithIdleAfter(time.Minute))
			if d := take(s, at, 100); !d.Allowed {
				t.Fatalf("%s: refused the first 100: %+v", p.Name, d)
			}
			if d := take(s, later, 1); d.Allowed {
				t.Fatalf("%s: admitted 1 more at %v, before any change", p.Name, later)
			}
			return s
		}

		s := fresh()
		cur = p2
		if err := s.SetPlan(later, "a", p2); err != nil {
			t.Fatal(err)
		}
		if d := take(s, later, 1); d.Allowed {
			t.Errorf("%s -> %s at %v: admitted after the plan change, %d remaining; want refused (100 spent)", p.Name, p2.Name, later, d.Remaining)
		}

		s = fresh()
		var buf bytes.Buffer
		if err := s.SnapshotAt(later, &buf); err != nil {
			t.Fatal(err)
		}
		r := New()
		if err := r.RestoreAt(later, &buf, plans); err != nil {
			t.Fatal(err)
		}
		if d := take(r, later, 1); d.Allowed {
			t.Errorf("%s at %v: admitted after a snapshot and restore, %d remaining; want refused (100 spent)", p.Name, later, d.Remaining)
		}

		s = fresh()
		if n := s.Sweep(later); n != 1 {
			t.Errorf("%s: sweep at %v folded %d tenants, want 1 (idle for 32 minutes as read)", p.Name, later, n)
		}
		if d := take(s, later, 1); d.Allowed {
			t.Errorf("%s at %v: admitted after a fold, %d remaining; want refused (100 spent)", p.Name, later, d.Remaining)
		}
	}
}

// TestR130SnapshotBeforeLowEnd: a snapshot taken before 1678 restores at
// the same instant with what was spent. Its taken time was
// now.UnixNano(), which wraps there (1600 reads as 2184): the restore saw
// a snapshot taken 584 years ahead of now and refused it as corrupt.
func TestR130SnapshotBeforeLowEnd(t *testing.T) {
	at := time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, pp := range r130Plans() {
		p := pp[0]
		plans := func(string) *store.Plan { return p }
		s := New()
		var l Lease
		var d store.Decision
		r130SpendAll(t, s, at, plans)
		var buf bytes.Buffer
		if err := s.SnapshotAt(at, &buf); err != nil {
			t.Fatal(err)
		}
		r := New()
		if err := r.RestoreAt(at, &buf, plans); err != nil {
			t.Errorf("%s: restore at %v of a snapshot taken then: %v", p.Name, at, err)
			continue
		}
		r.Take(at, &store.Request{Tenant: "a", App: "x", Credits: 1}, plans, &l, &d)
		if d.Allowed {
			t.Errorf("%s at %v: admitted after a snapshot and restore, %d remaining; want refused (100 spent)", p.Name, at, d.Remaining)
			r.Release(&l)
		}
	}
}
