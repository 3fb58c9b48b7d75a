package redis

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// While an application is marked (a take of several units refused for
// concurrency), an admitted take says so and its slot is not kept as a
// spare. A take sent again after an ambiguous error (FailClosed keeps no
// record: the script knows the replay by its member) answers without the
// mark, and the slot is kept as a spare of the marked application.
func TestReplayedTakeSaysMarked_r103(t *testing.T) {
	ca := client(t, shared.addr())
	h := &loseRuns{}
	ca.AddHook(h)
	prefix := "r103replay" + time.Now().Format("150405.000000") + ":"
	a := newStore(t, ca, WithPrefix(prefix), WithFailure(FailClosed, 1), WithCreditLeasing(64), WithTimeout(2*time.Second))
	b := newStore(t, client(t, shared.addr()), WithPrefix(prefix))
	p := store.Plan{Name: "free", Credits: 1 << 20, Window: time.Hour, Concurrency: 5}
	pf := func(string) *store.Plan { return &p }
	take := func(s *Store, units int64) (*Lease, store.Decision) {
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "t", App: "a", Credits: 1, Units: units}, pf, &l, &d)
		return &l, d
	}
	lb, d := take(b, 1)
	if !d.Allowed {
		t.Fatalf("b: %+v", d)
	}
	defer b.Release(lb)
	if _, d = take(b, 5); d.Allowed || d.Reason != store.ReasonConcurrency {
		t.Fatalf("b's composite with one unit in flight: %+v", d)
	}
	// control: an admitted take while marked is not kept as a spare
	l, d := take(a, 1)
	if !d.Allowed {
		t.Fatalf("a: %+v", d)
	}
	a.Release(l)
	if n := len(a.held.spares); n != 0 {
		t.Fatalf("control: a kept %d spares of a marked application", n)
	}
	h.op = "take"
	h.n.Store(1) // the take runs, its reply is lost: sent again
	l, d = take(a, 1)
	if !d.Allowed || h.n.Load() != 0 {
		t.Fatalf("a's replayed take: %+v (%d left)", d, h.n.Load())
	}
	a.Release(l)
	if n := len(a.held.spares); n != 0 {
		t.Fatalf("a kept %d spares of a marked application after a replayed take", n)
	}
}
