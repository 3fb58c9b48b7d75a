package limiter

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// A released ticket's state goes to its P's slot and the next admission on
// that P takes it back (the test retries in case the goroutine moved
// between Ps); the released ticket's stale copy then releases, settles and
// refuses nothing of the new admission's.
func TestStateSlotReuseStaleCopy(t *testing.T) {
	l := mustNew(t, Plan{Name: "t", Credits: 1 << 20, Concurrency: 1})
	req := Request{Tenant: "o", App: "a", Credits: 1}
	reused := false
	for range 100 {
		tk, d := l.Acquire(t0, req)
		if !d.Allowed {
			t.Fatal(d)
		}
		cp := tk
		if !tk.Release() {
			t.Fatal("first Release reported false")
		}
		tk2, d := l.Acquire(t0, req)
		if !d.Allowed {
			t.Fatal(d)
		}
		if tk2.h != cp.h {
			tk2.Release()
			continue
		}
		reused = true
		cp.Settle(t0, 0)
		if cp.Release() || cp.Refuse(t0, &req) {
			t.Fatal("a stale copy released its reused state")
		}
		if _, d := l.Acquire(t0, req); d.Allowed {
			t.Fatal("a stale copy freed the new admission's slot")
		}
		if !tk2.Release() {
			t.Fatal("the new admission's Release reported false")
		}
		break
	}
	if !reused {
		t.Fatal("no state came back from its P's slot in 100 tries")
	}
	assertNoSlotsHeld(t, l)
}

// Goroutines on every P admit and release while others release stale
// copies of the same tickets: each admission releases exactly once, stale
// Releases report false, and no slot stays held (under -race this also
// checks that a state's reuse is ordered after its release).
func TestStateSlotStaleCopiesConcurrent(t *testing.T) {
	l := mustNew(t, Plan{Name: "t", Credits: 1 << 40, Concurrency: 1 << 20})
	workers := 2 * runtime.GOMAXPROCS(0)
	const per = 2000
	stale := make(chan Ticket, 256)
	var admitted, released atomic.Int64
	var wg, sw sync.WaitGroup
	for range 2 {
		sw.Add(1)
		go func() {
			defer sw.Done()
			for cp := range stale {
				if cp.Release() {
					released.Add(1)
				}
			}
		}()
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := Request{Tenant: "o", App: "a", Credits: 1}
			for i := range per {
				tk, d := l.Acquire(t0, req)
				if !d.Allowed {
					t.Error(d)
					return
				}
				admitted.Add(1)
				if (w+i)%3 == 0 {
					stale <- tk // released by the other side, or by us below
				}
				if tk.Release() {
					released.Add(1)
				}
				if i%2 == 0 {
					stale <- tk // stale for sure: its state may be another admission's now
				}
			}
		}()
	}
	wg.Wait()
	close(stale)
	sw.Wait()
	if a, r := admitted.Load(), released.Load(); a != r {
		t.Fatalf("%d admissions, %d Releases reported true", a, r)
	}
	assertNoSlotsHeld(t, l)
}

// A limiter made while GOMAXPROCS is below the CPU count keeps a slot for
// every P the count allows: raised later (as Go 1.25 does when a
// container's CPU limit rises, or as `go test -cpu 1,2` does between
// benchmarks sharing one limiter), the new Ps' admissions used spare, a
// sync.Pool about four times a slot's cost.
func TestStateSlotsForEveryCPU(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	l := mustNew(t, Plan{Name: "t", Credits: 1 << 20, Concurrency: 1})
	if got, want := len(l.pool.slots), runtime.NumCPU(); got < want {
		t.Fatalf("%d state slots for %d CPUs, made at GOMAXPROCS 1", got, want)
	}
}
