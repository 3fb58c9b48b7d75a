package limiter

import (
	"testing"

	"github.com/creditgate/creditgate/store/memory"
)

// A call in flight in a capped class keeps its class slot across plan
// changes ("what is held carries over"): a plan without the cap, then one
// with it again, does not let a second call in under a cap of 1 while the
// first is in flight; and the first's release frees its slot.
func TestSetPlanClassCapRemovedAndRestored(t *testing.T) {
	for _, cached := range []bool{false, true} {
		var opts []memory.Option
		if cached {
			opts = append(opts, memory.WithSlotCache())
		}
		capped := Plan{Name: "capped", Credits: 100, Concurrency: 5, SubConcurrency: map[string]int64{"bulk": 1}}
		l := mustNew(t, capped, withMem(opts...))
		bulk := Request{Tenant: "t", App: "a", Class: "bulk", Credits: 1}
		first, d := l.Acquire(t0, bulk)
		if !d.Allowed {
			t.Fatalf("refused: %+v", d)
		}
		open := capped.Clone()
		open.Name, open.SubConcurrency = "open", nil
		if err := l.SetPlanAt(t0, "t", open); err != nil {
			t.Fatal(err)
		}
		if err := l.SetPlanAt(t0, "t", capped); err != nil {
			t.Fatal(err)
		}
		second, d := l.Acquire(t0, Request{Tenant: "t", App: "b", Class: "bulk", Credits: 1})
		if d.Allowed {
			second.Release()
			t.Errorf("cache %v: a second bulk call admitted under a cap of 1 with the first in flight: %+v", cached, d)
		}
		first.Release()
		third, d := l.Acquire(t0, Request{Tenant: "t", App: "b", Class: "bulk", Credits: 1})
		if !d.Allowed {
			t.Errorf("cache %v: refused once the first call ended: %+v", cached, d)
		}
		third.Release()
		assertNoSlotsHeld(t, l)
	}
}
