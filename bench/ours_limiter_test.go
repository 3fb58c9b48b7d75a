package bench

import (
	"context"
	"testing"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/usage"
)

// Ours in the keyed rows: a limiter whose plan gives every tenant bigLimit
// credits per period and more concurrency than any run holds; one decision is
// Acquire (1 credit) then Release. Like the peers, it reads the clock on every
// call, so the row compares whole decisions: each reads its own library's
// clock (the peers runtime.nanotime, ours Limiter.Now, the coarse clock its
// middleware uses).

// benchPlan is the plan of every tenant in the keyed and middleware rows.
var benchPlan = limiter.Plan{Name: "bench", Window: period, Credits: bigLimit, Concurrency: slotCapacity}

// newOursLimiter returns a limiter at default settings (in-memory store, no
// tenant bound, default slots).
func newOursLimiter(tb testing.TB) *limiter.Limiter {
	l, err := limiter.New(benchPlan)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = l.Close(context.Background()) })
	return l
}

// fullPlan is benchPlan with a capped class, for the KeyedFull rows.
var fullPlan = func() limiter.Plan {
	p := benchPlan
	p.SubConcurrency = map[string]int64{"bulk": slotCapacity}
	return p
}()

// newFullLimiter is a limiter that does everything an admission can: app
// slot, class slot, credits and usage recording (aggregated by its goroutine).
// close stops both the limiter's goroutines and the statistics'.
func newFullLimiter() (l *limiter.Limiter, close func(), err error) {
	stats := usage.New(0, 0)
	l, err = limiter.New(fullPlan, limiter.WithUsage(stats))
	return l, func() {
		if l != nil {
			_ = l.Close(context.Background())
		}
		_ = stats.Close(context.Background())
	}, err
}

// fullRequest is the KeyedFull rows' request: every dimension the usage
// statistics keep, and the capped class. Inlined, it is built in the
// caller's frame, where AcquireTo reads it.
func fullRequest(key string) *limiter.Request {
	return &limiter.Request{Tenant: key, App: "crm-sync", User: "user@example.com", IP: "192.0.2.1",
		Module: "Leads", Method: "GET", Class: "bulk", Credits: 1}
}

// acquire is one keyed decision of ours: AcquireTo, Acquire's form that
// takes the request and gives the decision through pointers (see the
// bench README: Acquire itself copies both, a few nanoseconds more), then
// Release. The timed closures write it out, as a handler makes the calls
// in its own body and the peers' closures call their libraries directly:
// too big to inline, acquire cost them a call and a frame more (9
// instructions of the keyed row's 662).
func acquire(l *limiter.Limiter, req *limiter.Request) bool {
	var d limiter.Decision
	t := l.AcquireTo(l.Now(), req, &d)
	t.Release()
	return d.Allowed
}

func acceptedErr(allowed bool) error {
	if !allowed {
		return errRefused
	}
	return nil
}

func init() {
	for _, n := range keyCounts {
		register(keyedRow(n), impl{
			name: ours,
			probe: func(tb testing.TB) func(int) error {
				l, ks := newOursLimiter(tb), keySet(n)
				return func(i int) error { return acceptedErr(acquire(l, &limiter.Request{Tenant: ks[i%n], Credits: 1})) }
			},
			run: func(b *testing.B) {
				keyedBench(b, n, warmTake(b, ours, n, func() (takeFunc, func(), error) {
					l, err := limiter.New(benchPlan)
					if err != nil {
						return nil, nil, err
					}
					// acquire written out: see acquire.
					return func(_ context.Context, key string) bool {
						var d limiter.Decision
						t := l.AcquireTo(l.Now(), &limiter.Request{Tenant: key, Credits: 1}, &d)
						t.Release()
						return d.Allowed
					}, func() { _ = l.Close(context.Background()) }, nil
				}))
			},
		})
	}
	for _, n := range keyCounts {
		register(keyedFullRow(n), impl{
			name: ours,
			probe: func(tb testing.TB) func(int) error {
				l, closeAll, err := newFullLimiter()
				tb.Cleanup(closeAll)
				if err != nil {
					tb.Fatal(err)
				}
				ks := keySet(n)
				return func(i int) error { return acceptedErr(acquire(l, fullRequest(ks[i%n]))) }
			},
			run: func(b *testing.B) {
				keyedBench(b, n, warmTake(b, ours+"-full", n, func() (takeFunc, func(), error) {
					l, closeAll, err := newFullLimiter()
					if err != nil {
						closeAll()
						return nil, nil, err
					}
					return func(_ context.Context, key string) bool { // acquire written out
						var d limiter.Decision
						t := l.AcquireTo(l.Now(), fullRequest(key), &d)
						t.Release()
						return d.Allowed
					}, closeAll, nil
				}))
			},
		})
	}
	registerMemory("tenant", ours, func(tb testing.TB, keys []string) built {
		l, err := limiter.New(benchPlan)
		if err != nil {
			tb.Fatal(err)
		}
		for _, k := range keys {
			t, d := l.Acquire(t0, limiter.Request{Tenant: k, Credits: 1})
			t.Release()
			if !d.Allowed {
				tb.Fatalf("limiter refused tenant %q: %v", k, d.Reason)
			}
		}
		return built{keep: l, close: func() { _ = l.Close(context.Background()) }}
	})
}
