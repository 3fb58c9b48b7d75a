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
