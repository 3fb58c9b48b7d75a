package limiter_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/limiter/storetest"
)

// Acquire's decision carries the figures of the plan the store decided
// under (see store.Decision), over the memory store and any other: after
// WithPlanFor's answer changes, a held tenant's decisions still name the
// plan it was made with, until ReplanAt.
func TestDecisionFigures(t *testing.T) {
	for _, o := range []struct {
		name string
		opts []limiter.Option
	}{{"memory", nil}, {"reference", []limiter.Option{limiter.WithStore(storetest.NewReference())}}} {
		t.Run(o.name, func(t *testing.T) {
			made := limiter.Plan{Credits: 100, AddOns: 30, Concurrency: 1}
			later := limiter.Plan{Credits: 200, AddOns: 80, Concurrency: 2}
			var changed atomic.Bool
			l, err := limiter.New(made, append(o.opts, limiter.WithPlanFor(func(string) limiter.Plan {
				if changed.Load() {
					return later
				}
				return made
			}))...)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Unix(1e9, 0)
			tk, d := l.Acquire(now, limiter.Request{Tenant: "t", App: "a", Credits: 1})
			if !d.Allowed || d.AddOns != 30 {
				t.Fatalf("first: %+v", d)
			}
			changed.Store(true)
			if _, d = l.Acquire(now, limiter.Request{Tenant: "t", App: "a", Credits: 1}); d.Reason != limiter.ReasonConcurrency || d.Cap != 1 || d.AddOns != 30 {
				t.Fatalf("the cap the store enforces refuses: %+v", d)
			}
			tk.Release()
			if _, d = l.Acquire(now, limiter.Request{Tenant: "t", App: "b", Credits: 150}); d.Reason != limiter.ReasonCredits || d.Exceeds != 100 {
				t.Fatalf("a cost above the pool the store enforces: %+v", d)
			}
			if err := l.ReplanAt(now, "t"); err != nil {
				t.Fatal(err)
			}
			tk, d = l.Acquire(now, limiter.Request{Tenant: "t", App: "a", Credits: 150})
			if !d.Allowed || d.AddOns != 80 {
				t.Fatalf("after ReplanAt: %+v", d)
			}
			tk.Release()
		})
	}
}
