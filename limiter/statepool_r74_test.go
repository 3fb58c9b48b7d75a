package limiter

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store/memory"
)

// liveStates checks that no ticket state is handed to two live admissions
// at once: an admission registers its header, and its Release (whichever
// copy made it) unregisters it first.
type liveStates struct {
	m     sync.Map
	twice atomic.Int64
}

func (s *liveStates) admit(tk Ticket) {
	if _, dup := s.m.LoadOrStore(tk.h, tk.gen); dup {
		s.twice.Add(1)
	}
}

// TestStatePoolGOMAXPROCSChanges: admissions and releases (by the ticket and
// by copies on other goroutines, some of them stale) run while GOMAXPROCS
// goes up past the slots New made (one per CPU, though New saw one P: the
// Ps past them take states from the spare pool) and back down below them
// (the removed Ps' slots keep a state each):
// no state is live in two admissions at once, every admission is released
// exactly once, and no slot stays held, with either binding.
func TestStatePoolGOMAXPROCSChanges(t *testing.T) {
	for _, kind := range []string{"memBinding", "generic"} {
		t.Run(kind, func(t *testing.T) {
			prev := runtime.GOMAXPROCS(1)
			defer runtime.GOMAXPROCS(prev)
			var opt Option = WithStore[memory.Lease](memory.New())
			if kind == "generic" {
				opt = WithStore[memory.Lease](&plainWrapped{memory.New()})
			}
			l := mustNew(t, Plan{Name: "t", Credits: 1 << 40, Concurrency: 1 << 20}, opt)
			if (l.mem != nil) != (kind == "memBinding") || len(l.pool.slots) != runtime.NumCPU() {
				t.Fatalf("mem %v, %d slots", l.mem != nil, len(l.pool.slots))
			}
			var live liveStates
			var admitted, released, staleTrue atomic.Int64
			stop := make(chan struct{})
			copies := make(chan Ticket, 64)
			var wg, cw sync.WaitGroup
			release := func(tk Ticket) bool {
				// Unregister before the Release that may hand the state on;
				// a copy that loses the race re-registers nothing.
				live.m.CompareAndDelete(tk.h, tk.gen)
				return tk.Release()
			}
			for range 2 {
				cw.Add(1)
				go func() {
					defer cw.Done()
					for cp := range copies {
						if cp.h.gen.Load() != cp.gen { // stale: must not release
							if cp.Release() {
								staleTrue.Add(1)
							}
							continue
						}
						if release(cp) {
							released.Add(1)
						}
					}
				}()
			}
			for w := range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req := Request{Tenant: "o", App: "a", Credits: 1}
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						tk, d := l.Acquire(t0, req)
						if !d.Allowed {
							t.Error(d)
							return
						}
						admitted.Add(1)
						live.admit(tk)
						if (w+i)%4 == 0 {
							copies <- tk // the copy side may release it first
						}
						if i%8 == 0 {
							runtime.Gosched() // move between Ps now and then
						}
						if release(tk) {
							released.Add(1)
						}
						if i%3 == 0 {
							copies <- tk // stale by now
						}
					}
				}()
			}
			hi := runtime.NumCPU() + 2 // past the slots: some Ps use spare
			for _, n := range []int{hi, 2, 1, 3, 1, hi, 2, 1} {
				runtime.GOMAXPROCS(n)
				time.Sleep(5 * time.Millisecond)
			}
			close(stop)
			wg.Wait()
			close(copies)
			cw.Wait()
			if n := live.twice.Load(); n != 0 {
				t.Errorf("%d admissions got a state another live admission held", n)
			}
			if a, r := admitted.Load(), released.Load(); a != r || a == 0 {
				t.Errorf("%d admissions, %d Releases reported true", a, r)
			}
			if n := staleTrue.Load(); n != 0 {
				t.Errorf("%d stale copies' Releases reported true", n)
			}
			assertMemHeld(t, l)
		})
	}
}

// assertMemHeld is assertNoSlotsHeld for a plain or a wrapped memory store.
func assertMemHeld(t *testing.T, l *Limiter) {
	t.Helper()
	ms, ok := l.Store().(*memory.Store)
	if w, wok := l.Store().(*plainWrapped); wok {
		ms, ok = w.Store, true
	}
	if !ok {
		t.Fatalf("store %T", l.Store())
	}
	for tenant := range ms.Tenants() {
		if h := ms.Held(tenant); h != 0 {
			t.Errorf("tenant %q holds %d slots", tenant, h)
		}
	}
}

// TestMemReleaseRacesCopies: a ticket's Release races a Settle, Reserve or
// Refuse on a copy (generations g+1 and g+2 on the way) and a Release on a
// stale copy of the ticket before it; with either binding the slots come
// back exactly once per admission: one Release or Refuse reports true, the
// stale copy's never, and no slot stays held.
func TestMemReleaseRacesCopies(t *testing.T) {
	for _, kind := range []string{"memBinding", "generic"} {
		t.Run(kind, func(t *testing.T) {
			var opt Option = WithStore[memory.Lease](memory.New())
			if kind == "generic" {
				opt = WithStore[memory.Lease](&plainWrapped{memory.New()})
			}
			l := mustNew(t, Plan{Name: "t", Credits: 1 << 40, Concurrency: 4}, opt)
			req := Request{Tenant: "o", App: "a", Credits: 2}
			var prev Ticket
			for i := range 3000 {
				tk, d := l.Acquire(t0, req)
				if !d.Allowed {
					t.Fatal(i, d)
				}
				var trues atomic.Int64
				var stale atomic.Bool
				start := make(chan struct{})
				var wg sync.WaitGroup
				wg.Add(3)
				go func() {
					defer wg.Done()
					<-start
					if tk.Release() {
						trues.Add(1)
					}
				}()
				go func() {
					defer wg.Done()
					cp := tk
					<-start
					switch i % 7 {
					case 0:
						cp.Settle(t0, 1)
					case 1:
						cp.Reserve(t0, 3)
					case 2:
						cp.Reserve(t0, 3)
						cp.Settle(t0, 0)
					case 3:
						if cp.Refuse(t0, &req) {
							trues.Add(1)
						}
						return
					case 4:
						if cp.Refuse(t0, nil) {
							trues.Add(1)
						}
						return
					case 5: // the ticket's Release alone must release
						cp.Settle(t0, 1)
						return
					case 6:
						cp.Reserve(t0, 3)
						return
					}
					if cp.Release() {
						trues.Add(1)
					}
				}()
				go func() {
					defer wg.Done()
					<-start
					if prev.Release() || prev.Refuse(t0, &req) {
						stale.Store(true)
					}
					prev.Settle(t0, 100)
				}()
				close(start)
				wg.Wait()
				if n := trues.Load(); n != 1 {
					t.Fatalf("admission %d: %d releases reported true", i, n)
				}
				if stale.Load() {
					t.Fatalf("admission %d: a stale copy released", i)
				}
				prev = tk
			}
			assertMemHeld(t, l)
		})
	}
}

// TestStatePoolStorePanics: a panic out of the store between a state's get
// and its put (here WithPlanFor's, which the memory store calls inside
// Take) loses that state to the collector, nothing more: the next
// admissions get states of their own, release once, and leave nothing held.
func TestStatePoolStorePanics(t *testing.T) {
	for _, kind := range []string{"memBinding", "generic"} {
		t.Run(kind, func(t *testing.T) {
			var opt Option = WithStore[memory.Lease](memory.New())
			if kind == "generic" {
				opt = WithStore[memory.Lease](&plainWrapped{memory.New()})
			}
			l := mustNew(t, Plan{Name: "t", Credits: 1000, Concurrency: 2}, opt, WithPlanFor(func(tenant string) Plan {
				if tenant == "bad" {
					panic("plan lookup failed")
				}
				return Plan{Name: "t", Credits: 1000, Concurrency: 2}
			}))
			acquireBad := func() (p any) {
				defer func() { p = recover() }()
				l.Acquire(t0, Request{Tenant: "bad", App: "a", Credits: 1})
				return nil
			}
			for i := range 50 {
				if acquireBad() == nil {
					t.Fatal("no panic")
				}
				a, da := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 1})
				b, db := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 1})
				if !da.Allowed || !db.Allowed || a.h == b.h {
					t.Fatalf("round %d: %v %v, same state %v", i, da, db, a.h == b.h)
				}
				if !a.Release() || !b.Release() || a.Release() {
					t.Fatalf("round %d: releases", i)
				}
			}
			if d := l.Peek(t0, "o"); d.Remaining != 900 {
				t.Fatalf("remaining %d, want 900", d.Remaining)
			}
			assertMemHeld(t, l)
		})
	}
}

// TestCloseWhileAdmitting: Close (of the alert deliverer and Now's clock)
// while admissions run, and admissions after it, leave the ticket states
// alone: every admission releases exactly once and nothing stays held.
func TestCloseWhileAdmitting(t *testing.T) {
	l, err := New(Plan{Name: "t", Credits: 1000, Concurrency: 1 << 10}, WithAlerts(nil, func(Alert) {}))
	if err != nil {
		t.Fatal(err)
	}
	var admitted, released atomic.Int64
	var wg sync.WaitGroup
	closed := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 400 {
				if i == 200 && w == 0 {
					if err := l.Close(context.Background()); err != nil {
						t.Error(err)
					}
					close(closed)
				}
				now := t0.Add(time.Duration(i) * time.Minute) // crosses thresholds again and again
				tk, d := l.Acquire(now, Request{Tenant: "o", App: "a", Credits: 3})
				if !d.Allowed {
					continue
				}
				admitted.Add(1)
				cp := tk
				cp.Settle(now, 4)
				if tk.Release() {
					released.Add(1)
				}
				if cp.Release() {
					released.Add(1)
				}
				_ = l.Now()
			}
		}()
	}
	wg.Wait()
	<-closed
	if a, r := admitted.Load(), released.Load(); a != r || a == 0 {
		t.Fatalf("%d admissions, %d Releases reported true", a, r)
	}
	assertNoSlotsHeld(t, l)
}

// TestStatePoolReusesOneState: on one P, admissions one at a time (admitted
// and released, or refused) all run on the state the first one made: every
// state comes back to the slot, refused or released, and none is made anew.
func TestStatePoolReusesOneState(t *testing.T) {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	l := mustNew(t, Plan{Name: "t", Credits: 100, Concurrency: 1})
	var made atomic.Int64
	newState := l.pool.spare.New
	l.pool.spare.New = func() any { made.Add(1); return newState() }
	for i := range 1000 {
		tk, d := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: int64(i % 2)})
		if i%3 == 0 {
			tk.Settle(t0, 0)
		}
		if d.Allowed != tk.Release() {
			t.Fatalf("admission %d: allowed %v, released the opposite", i, d.Allowed)
		}
		if _, d := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 101}); d.Allowed {
			t.Fatal("101 credits of 100 admitted")
		}
	}
	if n := made.Load(); n != 1 {
		t.Fatalf("%d states made for admissions one at a time on one P", n)
	}
}
