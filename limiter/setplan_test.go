package limiter

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store/memory"
)

// TestSetPlanDuringCreation: a SetPlan made while the tenant's first request
// is creating it (after its plan was asked for, before it is in the table)
// is not lost: the tenant ends with the new plan.
func TestSetPlanDuringCreation(t *testing.T) {
	asked, proceed := make(chan struct{}), make(chan struct{})
	var once sync.Once
	free := Plan{Name: "free", Credits: 1000, Concurrency: 10}
	l := mustNew(t, free, WithPlanFor(func(string) Plan {
		once.Do(func() { close(asked); <-proceed })
		return free
	}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk, _ := l.Acquire(t0, Request{Tenant: "org", App: "a", Credits: 1})
		tk.Release()
	}()
	<-asked
	if err := l.SetPlanAt(t0, "org", Plan{Name: "suspended", Credits: 1, Concurrency: 1}); err != nil {
		t.Fatal(err)
	}
	close(proceed)
	<-done
	if d := l.Peek(t0, "org"); d.Limit != 1 {
		t.Fatalf("the tenant kept the plan it was created with: %+v", d)
	}
	if _, d := l.Acquire(t0, Request{Tenant: "org", App: "a", Credits: 1}); d.Allowed {
		t.Fatalf("a suspended tenant admitted: %+v", d)
	}
}

// TestSetPlanKeepsExtraSpend: a plan change that replaces the windows (here
// only the extra window's cap changes) carries over what the extra window
// had spent, not just the pool's.
func TestSetPlanKeepsExtraSpend(t *testing.T) {
	p := Plan{Name: "p", Window: 10 * time.Second, Credits: 10, Concurrency: 100,
		Extra: []WindowLimit{{Credits: 100, Window: 24 * time.Hour}}}
	l := mustNew(t, p)
	now := t0
	spend := func() (n int) {
		for i := 0; i < 10; i++ {
			for j := 0; j < 10; j++ {
				if tk, d := l.Acquire(now, Request{Tenant: "org", App: "a", Credits: 1}); d.Allowed {
					n++
					tk.Release()
				}
			}
			now = now.Add(11 * time.Second)
		}
		return n
	}
	if n := spend(); n != 100 {
		t.Fatalf("spent %d of the daily 100", n)
	}
	p.Extra = []WindowLimit{{Credits: 101, Window: 24 * time.Hour}}
	if err := l.SetPlanAt(now, "org", p); err != nil {
		t.Fatal(err)
	}
	if n := spend(); n != 1 {
		t.Fatalf("after raising the daily cap from 100 to 101, %d more admitted the same day", n)
	}
}

// TestSetPlanKeepsSpendAboveLoweredLimit: what is spent beyond a lowered
// limit stays spent through a later change of the window's length.
func TestSetPlanKeepsSpendAboveLoweredLimit(t *testing.T) {
	p := Plan{Name: "p", Window: time.Hour, Credits: 100, Concurrency: 100}
	l := mustNew(t, p)
	if _, d := l.Acquire(t0, Request{Tenant: "org", App: "a", Credits: 100}); !d.Allowed {
		t.Fatal(d)
	}
	low := p
	low.Credits = 10
	if err := l.SetPlanAt(t0, "org", low); err != nil {
		t.Fatal(err)
	}
	p.Window = 2 * time.Hour
	if err := l.SetPlanAt(t0, "org", p); err != nil {
		t.Fatal(err)
	}
	if d := l.Peek(t0, "org"); d.Remaining != 0 {
		t.Fatalf("credits minted by the plan changes: %+v", d)
	}
}

// TestSetPlanKeepsSpendTimes: credits carried into windows of a new length
// come back when they would have in the new length, counted from when they
// were spent, not from the plan change.
func TestSetPlanKeepsSpendTimes(t *testing.T) {
	p := Plan{Name: "p", Window: time.Hour, Credits: 100, Concurrency: 100}
	l := mustNew(t, p, withMem(memory.WithSlots(60))) // slots of a minute
	if _, d := l.Acquire(t0, Request{Tenant: "org", App: "a", Credits: 60}); !d.Allowed {
		t.Fatal(d)
	}
	p.Window = 2 * time.Hour
	if err := l.SetPlanAt(t0.Add(30*time.Minute), "org", p); err != nil {
		t.Fatal(err)
	}
	if d := l.Peek(t0.Add(2*time.Hour-time.Minute), "org"); d.Remaining != 40 {
		t.Fatalf("before two hours from the spend: %+v", d)
	}
	if d := l.Peek(t0.Add(2*time.Hour+2*time.Minute), "org"); d.Remaining != 100 {
		t.Fatalf("two hours and two slots after the spend: %+v (the change charged them at its own time?)", d)
	}
}

// TestSetPlanRacesAdmissions: admissions racing with plan changes that
// replace the windows are all counted: with no time passing, no more than
// the pool is ever admitted.
func TestSetPlanRacesAdmissions(t *testing.T) {
	const pool = 20_000
	p := Plan{Name: "p", Window: time.Hour, Credits: pool, Concurrency: 1000}
	l := mustNew(t, p)
	tk, _ := l.Acquire(t0, Request{Tenant: "org", App: "a"})
	tk.Release()
	var admitted atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				tk, d := l.Acquire(t0, Request{Tenant: "org", App: "a", Credits: 1})
				if d.Allowed {
					admitted.Add(1)
					tk.Settle(t0, 1+int64(admitted.Load()%2)) // some charge one more
					tk.Release()
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			q := p
			q.Window = time.Hour + time.Duration(i%2)*time.Minute
			if err := l.SetPlanAt(t0, "org", q); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	deadline := time.Now().Add(2 * time.Second)
	for l.Peek(t0, "org").Remaining > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(5 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if n := admitted.Load(); n > pool {
		t.Fatalf("admitted %d calls from a pool of %d with no time passing", n, pool)
	}
}

// TestReplanFollowsPlanFor: when WithPlanFor's answers change (a reloaded
// configuration), ReplanAt gives a held tenant its new answer, keeping what
// it spent, and records no override: SetPlanAt would keep one per tenant
// for good (the gateway's reloads grew the limiter that way).
func TestReplanFollowsPlanFor(t *testing.T) {
	var big atomic.Bool
	big.Store(true)
	l := mustNew(t, Plan{Name: "default", Credits: 1, Concurrency: 1}, WithPlanFor(func(string) Plan {
		if big.Load() {
			return Plan{Name: "big", Credits: 100, Concurrency: 5}
		}
		return Plan{Name: "small", Credits: 10, Concurrency: 1}
	}))
	tk, d := l.Acquire(t0, Request{Tenant: "org", App: "a", Credits: 4})
	if !d.Allowed || d.Limit != 100 {
		t.Fatalf("first take: %+v", d)
	}
	tk.Release()
	big.Store(false)
	if d := l.Peek(t0, "org"); d.Limit != 100 {
		t.Fatalf("before ReplanAt the held tenant has limit %d, want its plan's 100", d.Limit)
	}
	if err := l.ReplanAt(t0, "org"); err != nil {
		t.Fatal(err)
	}
	if d := l.Peek(t0, "org"); d.Limit != 10 || d.Remaining != 6 {
		t.Fatalf("after ReplanAt: limit %d remaining %d, want 10 and 6 (the 4 spent carried over)", d.Limit, d.Remaining)
	}
	if p := l.Plan("org"); p.Name != "small" {
		t.Fatalf("Plan = %q, want small", p.Name)
	}
	if n := len(l.overrides); n != 0 {
		t.Fatalf("ReplanAt kept %d overrides", n)
	}
	if err := l.ReplanAt(t0, "absent"); err != nil { // a tenant not held: nothing to change
		t.Fatal(err)
	}
	if n := len(l.overrides); n != 0 {
		t.Fatalf("ReplanAt of an absent tenant kept %d overrides", n)
	}
}
