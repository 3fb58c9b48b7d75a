package limiter_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/store/memory"
	"github.com/creditgate/creditgate/usage"
)

var start = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func plan() limiter.Plan {
	return limiter.Plan{Name: "demo", Credits: 100, Concurrency: 2,
		SubConcurrency: map[string]int64{"bulk": 1}}
}

func ExampleLimiter_Acquire() {
	l, _ := limiter.New(plan())
	tk, d := l.Acquire(start, limiter.Request{Tenant: "org1", App: "crm-sync", Credits: 30})
	fmt.Println(d.Allowed, d.Remaining, d.Limit)
	defer tk.Release() // gives back the concurrency slot

	_, d = l.Acquire(start, limiter.Request{Tenant: "org1", App: "crm-sync", Credits: 80})
	fmt.Println(d.Allowed, d.Reason, d.RetryAfter > 0)
	// Output:
	// true 70 100
	// false credits true
}

func ExampleLimiter_AcquireTo() {
	l, _ := limiter.New(plan())
	// The same decision as Acquire's, without its copies: the form for a
	// loop that admits millions of calls a second.
	req := limiter.Request{Tenant: "org1", App: "crm-sync", Credits: 30}
	var d limiter.Decision
	tk := l.AcquireTo(start, &req, &d)
	fmt.Println(d.Allowed, d.Remaining, d.Limit)
	tk.Release()
	// Output:
	// true 70 100
}

func ExampleTicket_Settle() {
	l, _ := limiter.New(plan())
	// Reserve the table's figure, then settle the real cost (here the call
	// failed on the server side, so it is refunded whole).
	tk, _ := l.Acquire(start, limiter.Request{Tenant: "org1", App: "a", Credits: 10})
	tk.Settle(start.Add(time.Second), 0)
	tk.Release()
	fmt.Println(l.Peek(start.Add(time.Second), "org1").Remaining)
	// Output: 100
}

func ExampleLimiter_SetPlanAt() {
	l, _ := limiter.New(plan())
	tk, _ := l.Acquire(start, limiter.Request{Tenant: "org1", App: "a", Credits: 90})
	tk.Release()
	up := plan()
	up.Credits += 50 // bought add-on credits: the spent 90 still count
	_ = l.SetPlanAt(start, "org1", up)
	d := l.Peek(start, "org1")
	fmt.Println(d.Limit, d.Remaining)
	// Output: 150 60
}

// Plans that come from a configuration: after a reload changes what
// WithPlanFor answers, ReplanAt moves the tenants already held to it.
func ExampleLimiter_ReplanAt() {
	editions := map[string]limiter.Plan{"org1": plan()} // a loaded configuration
	var mu sync.Mutex
	l, _ := limiter.New(plan(), limiter.WithPlanFor(func(tenant string) limiter.Plan {
		mu.Lock()
		defer mu.Unlock()
		return editions[tenant]
	}))
	tk, _ := l.Acquire(start, limiter.Request{Tenant: "org1", App: "a", Credits: 90})
	tk.Release()
	mu.Lock()
	up := plan()
	up.Credits = 500 // the reloaded configuration: org1 upgraded
	editions["org1"] = up
	mu.Unlock()
	_ = l.ReplanAt(start, "org1")
	d := l.Peek(start, "org1")
	fmt.Println(d.Limit, d.Remaining)
	// Output: 500 410
}

func ExampleWithAlerts() {
	l, _ := limiter.New(plan(), limiter.WithAlerts(nil, func(a limiter.Alert) {
		fmt.Printf("%s at %d%%: %d/%d\n", a.Tenant, a.Threshold, a.Used, a.Limit)
	}))
	for i := 0; i < 3; i++ {
		tk, _ := l.Acquire(start, limiter.Request{Tenant: "org1", App: "a", Credits: 30})
		tk.Release()
	}
	_ = l.Close(context.Background()) // delivers what is queued
	// Output:
	// org1 at 80%: 90/100
	// org1 at 90%: 90/100
}

func ExampleWithUsage() {
	u := usage.New(0, 100)
	defer u.Close(context.Background()) // stops its aggregating goroutine
	l, _ := limiter.New(plan(), limiter.WithUsage(u))
	for _, app := range []string{"sync", "sync", "forms"} {
		tk, _ := l.Acquire(start, limiter.Request{Tenant: "org1", App: app, Credits: 5})
		tk.Release()
	}
	for _, c := range u.Top("org1", usage.App, start, start.Add(time.Hour), 10) {
		fmt.Println(c.Key, c.Credits, c.Calls)
	}
	// Output:
	// sync 10 2
	// forms 5 1
}

// A request admitted at its route's least price reserves the rest once its
// body has told the real price: all or nothing.
func ExampleTicket_Reserve() {
	l, _ := limiter.New(plan())
	tk, _ := l.Acquire(start, limiter.Request{Tenant: "org1", App: "a", Credits: 1})
	defer tk.Release()
	fmt.Println(tk.Reserve(start, 9).Allowed)   // the body held 100 records: 10 credits in all
	fmt.Println(tk.Reserve(start, 200).Allowed) // more than the pool has: nothing taken
	fmt.Println(l.Peek(start, "org1").Remaining)
	// Output:
	// true
	// false
	// 90
}

// A request admitted at its least price whose body turns out malformed:
// Refuse gives back what it took, and the usage statistics count a
// refusal, not a call.
func ExampleTicket_Refuse() {
	l, _ := limiter.New(plan())
	req := limiter.Request{Tenant: "org1", App: "a", Credits: 1}
	tk, _ := l.Acquire(start, req)
	tk.Reserve(start, 9)                // the body's price, read before it was found malformed
	fmt.Println(tk.Refuse(start, &req)) // released
	fmt.Println(l.Peek(start, "org1").Remaining)
	// Output:
	// true
	// 100
}

// A plan whose pool comes back whole at midnight in Los Angeles (Zoho's old
// daily reset), over a store with 60 slots per window.
func ExampleWithStore() {
	la, _ := time.LoadLocation("America/Los_Angeles")
	p := limiter.Plan{Name: "v1", Credits: 100, Concurrency: 5,
		Calendar: &limiter.Calendar{Location: la}}
	l, _ := limiter.New(p, limiter.WithStore(memory.New(memory.WithSlots(60))))
	at := time.Date(2026, 3, 2, 23, 0, 0, 0, la)
	tk, _ := l.Acquire(at, limiter.Request{Tenant: "org1", App: "a", Credits: 100})
	tk.Release()
	d := l.Peek(at, "org1")
	fmt.Println(d.Remaining, d.Reset.In(la).Format("Jan 2 15:04"))
	fmt.Println(l.Peek(at.Add(time.Hour), "org1").Remaining)
	// Output:
	// 0 Mar 3 00:00
	// 100
}

// Spending the server reports but this process did not make is charged, so
// that what the limiter admits next fits the real pool.
func ExampleLimiter_Charge() {
	l, _ := limiter.New(plan())
	d := l.Charge(start, "org1", 25)
	fmt.Println(d.Cost, d.Remaining)
	// Output: 25 75
}

func ExampleLimiter_SnapshotAt() {
	a, _ := limiter.New(plan())
	tk, _ := a.Acquire(start, limiter.Request{Tenant: "org1", App: "a", Credits: 40})
	tk.Release()
	var buf bytes.Buffer
	_ = a.SnapshotAt(start.Add(time.Hour), &buf)

	b, _ := limiter.New(plan()) // the restarted process
	err := b.RestoreAt(start.Add(time.Hour), &buf)
	fmt.Println(err, b.Peek(start.Add(time.Hour), "org1").Remaining)
	// Output: <nil> 60
}

// Now is the clock to admit live traffic with: the wall time to a
// millisecond, one atomic load per read. Close stops its ticker.
func ExampleLimiter_Now() {
	l, err := limiter.New(plan())
	if err != nil {
		panic(err)
	}
	defer l.Close(context.Background())
	now := l.Now()
	tk, d := l.Acquire(now, limiter.Request{Tenant: "org1", App: "crm-sync", Credits: 30})
	defer tk.Release()
	fmt.Println(d.Allowed, d.Remaining, d.Window)
	fmt.Println(time.Since(now) < time.Second)
	// Output:
	// true 70 24h0m0s
	// true
}
