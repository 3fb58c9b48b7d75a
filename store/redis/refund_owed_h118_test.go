package redis

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/creditgate/creditgate/store"
)

// replyLost runs the next left commands or pipelines carrying a settle of
// delta, then loses their replies: the refund reached Redis and ran.
type replyLost struct{ settleFault }

func (f *replyLost) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if !f.hit(cmd) {
			return next(ctx, cmd)
		}
		_ = next(ctx, cmd)
		cmd.SetErr(errInjected)
		return errInjected
	}
}

func (f *replyLost) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		for _, c := range cmds {
			if f.hit(c) {
				_ = next(ctx, cmds)
				for _, c := range cmds {
					c.SetErr(errInjected)
				}
				return errInjected
			}
		}
		return next(ctx, cmds)
	}
}

// refundLease takes credits on a store on a client with hook h (and
// client time), returning the store, its plans, the take's instant and
// its lease.
func refundLease(t *testing.T, h goredis.Hook, credits int64, opts ...Option) (*Store, store.PlanFunc, time.Time, *Lease) {
	t.Helper()
	c := client(t, shared.addr())
	c.AddHook(h)
	s := newStore(t, c, append([]Option{WithClientTime()}, opts...)...)
	p := store.Plan{Name: "free", Credits: 1000, Window: time.Hour, Concurrency: 4}
	pf := func(string) *store.Plan { return &p }
	now := time.Now()
	var l Lease
	var d store.Decision
	s.Take(now, &store.Request{Tenant: "t", App: "a", Credits: credits}, pf, &l, &d)
	if !d.Allowed {
		t.Fatalf("take: %+v", d)
	}
	return s, pf, now, &l
}

// refundRun takes 4 credits on a store with opts, settles -1 with every
// try's reply lost, waits wait (reconciles run) and returns the settle and
// the pool's Used.
func refundRun(t *testing.T, wait time.Duration, opts ...Option) (store.Decision, int64) {
	t.Helper()
	f := &replyLost{settleFault{delta: -1}}
	s, pf, now, l := refundLease(t, f, 4, opts...)
	f.left.Store(3) // every try of the call ran, its reply lost
	sd := s.Settle(now, l, -1, false)
	s.Release(l)
	time.Sleep(wait)
	return sd, s.Peek(now, "t", 0, pf).Used
}

// A refund whose tries all reached Redis (their replies lost) is booked
// and replayed with its id: the replay finds its record and applies
// nothing more. Refunded twice, the pool would show 2.
func TestRefundReplayedAppliesOnce_h118(t *testing.T) {
	sd, used := refundRun(t, 500*time.Millisecond, WithLeaseTTL(300*time.Millisecond)) // reconcile every 100 ms
	if used != 3 || sd.Cost != -1 {
		t.Errorf("4 credits, a refund of 1 that ran, its replies lost: pool used %d, settle %+v; want used 3, Cost -1", used, sd)
	}
}

// Past WithReplayTTL the record of a refund that ran may be gone: its
// replay would apply it again, so it is dropped instead.
func TestRefundPastReplayTTLDropped_h118(t *testing.T) {
	sd, used := refundRun(t, 1300*time.Millisecond, WithLeaseTTL(3*time.Second), // first reconcile at 1 s
		WithTimeout(100*time.Millisecond), WithReplayTTL(300*time.Millisecond)) // booked (its deadline 100 ms after the failure), past it at the reconcile
	if used != 3 || sd.Cost != -1 {
		t.Errorf("4 credits, a refund of 1 that ran, replayed past its record: pool used %d, settle %+v; want used 3, Cost -1", used, sd)
	}
}

// A failed refund is replayed into the lease's slot: one the window has
// left by then gives back nothing, as a late refund, not taken from what
// was spent since.
func TestRefundReplayedIntoItsSlot_h118(t *testing.T) {
	f := &settleFault{delta: -1}
	s, pf, now, l := refundLease(t, f, 2, WithLeaseTTL(300*time.Millisecond))
	f.left.Store(3)
	s.Settle(now, l, -1, false)
	s.Release(l)
	later := now.Add(2 * time.Hour)
	if d := s.Charge(later, "t", 5, pf); d.Cost != 5 {
		t.Fatalf("charge: %+v", d)
	}
	time.Sleep(500 * time.Millisecond) // reconciles ran
	if got := s.Peek(later, "t", 0, pf).Used; got != 5 {
		t.Errorf("a refund of a slot two windows back, replayed: pool used %d; want 5", got)
	}
}

// What is owed is bounded: past maxOwedSteps a failed refund is dropped
// (Cost 0), as before.
func TestRefundOwedBounded_h118(t *testing.T) {
	c := client(t, shared.addr())
	f := &settleFault{delta: -1}
	c.AddHook(f)
	s := newStore(t, c, WithLeaseTTL(time.Minute)) // no reconcile within the test
	p := store.Plan{Name: "free", Credits: 1000, Window: time.Hour, Concurrency: maxOwedSteps + 8}
	pf := func(string) *store.Plan { return &p }
	now := time.Now()
	ls := make([]Lease, maxOwedSteps+4)
	for i := range ls {
		var d store.Decision
		s.Take(now, &store.Request{Tenant: "t", App: "a", Credits: 2}, pf, &ls[i], &d)
		if !d.Allowed {
			t.Fatalf("take %d: %+v", i, d)
		}
	}
	f.left.Store(1 << 30) // every refund fails (the breaker opens: not sent, booked all the same)
	booked := 0
	for i := range ls {
		if d := s.Settle(now, &ls[i], -1, false); d.Cost == -1 {
			booked++
		}
		s.Release(&ls[i])
	}
	if booked != maxOwedSteps {
		t.Errorf("%d failed refunds: %d booked, want %d", len(ls), booked, maxOwedSteps)
	}
}
