package redis

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// Credit leasing applies only when every window rolls. A take that asked
// for a block under the caller's rolling plan and was sent back for the
// calendar plan another instance stored with SetPlan leased the block
// under the calendar plan: 8 credits taken from the calendar pool that no
// one could spend (takeLocal refuses a calendar plan's block), missing
// from the other instances until a sweep gave them back.
func TestNoBlockUnderStoredCalendarPlan(t *testing.T) {
	prefix := "calblock" + time.Now().Format("150405.000000") + ":"
	a := newStore(t, client(t, shared.addr()), WithPrefix(prefix), WithCreditLeasing(64))
	b := newStore(t, client(t, shared.addr()), WithPrefix(prefix))
	rolling := store.Plan{Credits: 100, Window: time.Hour, Concurrency: 4}
	cal := store.Plan{Credits: 100, Window: time.Hour, Calendar: &store.Calendar{Location: time.UTC}, Concurrency: 4}
	pf := func(string) *store.Plan { return &rolling }
	take := func(s *Store) store.Decision {
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "c", App: "a", Credits: 1}, pf, &l, &d)
		s.Release(&l)
		return d
	}
	if d := take(b); !d.Allowed {
		t.Fatalf("b's first take: %+v", d)
	}
	if err := b.SetPlan(time.Now(), "c", &cal); err != nil {
		t.Fatal(err)
	}
	d := take(a) // a has not seen the calendar plan: sent back for it
	if !d.Allowed {
		t.Fatalf("a's take: %+v", d)
	}
	if st := a.Stats(); st.Blocks != 0 {
		t.Errorf("a leased %d blocks under a calendar plan", st.Blocks)
	}
	if p := b.Peek(time.Now(), "c", 0, pf); p.Used != 2 || p.Remaining != 98 {
		t.Errorf("after two takes of 1 under the calendar plan, b sees %d used, %d remaining", p.Used, p.Remaining)
	}
	if d.Remaining != 98 {
		t.Errorf("a's decision says %d remaining, want 98", d.Remaining)
	}
}
