package memory_test

import (
	"fmt"
	"time"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/store/memory"
)

// A store with room for two active tenants: a third makes room by folding
// an idle one, whose spending is kept and comes back when it does.
func ExampleWithMaxTenants() {
	plan := limiter.Plan{Name: "p", Credits: 100, Concurrency: 5}
	s := memory.New(memory.WithMaxTenants(2))
	l, _ := limiter.New(plan, limiter.WithStore(s))
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for _, org := range []string{"a", "b", "c"} {
		tk, d := l.Acquire(at, limiter.Request{Tenant: org, App: "x", Credits: 40})
		tk.Release()
		fmt.Println(org, d.Allowed)
	}
	fmt.Println(s.Len(), s.Folded(), l.Peek(at, "a").Remaining)
	// Output:
	// a true
	// b true
	// c true
	// 1 2 60
}

// A limiter for one tenant whose calls run on every core (a client's): the
// slot cache keeps the slots its calls give back where they were given
// back, still counted, so the cap holds exactly and Held counts only the
// calls in flight.
func ExampleWithSlotCache() {
	plan := limiter.Plan{Name: "p", Credits: 1000, Concurrency: 2}
	s := memory.New(memory.WithSlotCache())
	l, _ := limiter.New(plan, limiter.WithStore(s))
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	req := limiter.Request{Tenant: "org", App: "x", Credits: 1}
	a, _ := l.Acquire(at, req)
	b, _ := l.Acquire(at, req)
	_, d := l.Acquire(at, req)
	fmt.Println(d.Allowed, d.Reason, s.Held("org"))
	a.Release() // cached on this goroutine's stripe
	fmt.Println(s.Held("org"))
	c, d := l.Acquire(at, req) // takes the cached slot
	fmt.Println(d.Allowed, s.Held("org"))
	b.Release()
	c.Release()
	fmt.Println(s.Held("org"))
	// Output:
	// false concurrency 2
	// 1
	// true 2
	// 0
}
