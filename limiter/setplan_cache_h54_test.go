package limiter

import (
	"testing"

	"github.com/creditgate/creditgate/store/memory"
)

// With the slot cache, a slot given back on a goroutine's stripe before
// SetPlan lowers the concurrency does not let a call in past the new cap:
// with 2 calls in flight and the cap lowered to 1, the goroutine that gave
// a slot back is refused, until both calls end.
func TestSetPlanLowersConcurrencyWithSlotCache(t *testing.T) {
	p := Plan{Name: "p", Credits: 1000, Concurrency: 3, SubConcurrency: map[string]int64{"bulk": 3}}
	l := mustNew(t, p, withMem(memory.WithSlotCache()))
	type call struct {
		tk Ticket
		d  Decision
	}
	do := make(chan func())
	done := make(chan struct{})
	go func() {
		for f := range do {
			f()
			done <- struct{}{}
		}
	}()
	defer close(do)
	on := func(f func()) { do <- f; <-done }
	req := Request{Tenant: "t", App: "a", Class: "bulk", Credits: 1}
	var held []Ticket
	for range 3 {
		var c call
		on(func() { c.tk, c.d = l.Acquire(t0, req) })
		if !c.d.Allowed {
			t.Fatalf("refused under the cap: %+v", c.d)
		}
		held = append(held, c.tk)
	}
	on(func() { held[0].Release() }) // cached on the worker's stripe
	low := p.Clone()
	low.Concurrency, low.SubConcurrency["bulk"] = 1, 1
	if err := l.SetPlanAt(t0, "t", low); err != nil {
		t.Fatal(err)
	}
	var c call
	on(func() { c.tk, c.d = l.Acquire(t0, req) })
	if c.d.Allowed {
		c.tk.Release()
		t.Fatalf("admitted with 2 in flight under a cap lowered to 1: %+v", c.d)
	}
	on(func() { held[1].Release() })
	on(func() { c.tk, c.d = l.Acquire(t0, req) })
	if c.d.Allowed {
		c.tk.Release()
		t.Fatalf("admitted with 1 in flight under a cap of 1: %+v", c.d)
	}
	on(func() { held[2].Release() })
	on(func() { c.tk, c.d = l.Acquire(t0, req) })
	if !c.d.Allowed {
		t.Fatalf("refused with none in flight under a cap of 1: %+v", c.d)
	}
	on(func() { c.tk.Release() })
	assertNoSlotsHeld(t, l)
}
