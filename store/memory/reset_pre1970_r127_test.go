package memory

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// TestAdmissionResetBefore1970_r127: an admission whose now is before 1970
// (a clock set back, a replay of old logs) reports the Reset that Peek
// reports just after it: the windows' cached reset word holds 0 for
// "nothing cached", which admit took for a cached instant whenever now's
// Unix ns is below 0 (Reset 1970-01-01 on main; since the lease's cache,
// whose resetNs is 0 too, the zero Time through a fresh lease).
func TestAdmissionResetBefore1970_r127(t *testing.T) {
	p := &store.Plan{Name: "p", Credits: 10, Window: 24 * time.Hour, Concurrency: 2}
	plans := func(string) *store.Plan { return p }
	for _, now := range []time.Time{
		time.Date(1969, 6, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 12, 0, 0, 0, time.UTC),
	} {
		s := New()
		var l Lease
		for i := range 3 { // a fresh lease, then the same one again
			at := now.Add(time.Duration(i) * time.Minute)
			var d store.Decision
			s.Take(at, &store.Request{Tenant: "a", App: "x", Credits: 1}, plans, &l, &d)
			if !d.Allowed {
				t.Fatalf("%v: refused %+v", at, d)
			}
			s.Release(&l)
			if pk := s.Peek(at, "a", 0, plans); !d.Reset.Equal(pk.Reset) || d.Reset.Location() != pk.Reset.Location() {
				t.Fatalf("now %v, admission %d: Reset %v, Peek's %v", at, i, d.Reset, pk.Reset)
			}
		}
	}
}
