package redis

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/creditgate/creditgate/store"
)

// opFault fails the next left commands or pipelines carrying op with the
// argument n after it; with lost they run first (the reply is lost).
type opFault struct {
	faults
	op   string
	n    int64
	lost bool
	left atomic.Int64
}

func (f *opFault) hit(c goredis.Cmder) bool {
	args := c.Args()
	for i, a := range args {
		if s, ok := a.(string); ok && s == f.op {
			for _, b := range args[i+1:] {
				if v, ok := b.(int64); ok && v == f.n {
					return f.left.Add(-1) >= 0
				}
			}
		}
	}
	return false
}

func (f *opFault) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if !f.hit(cmd) {
			return next(ctx, cmd)
		}
		if f.lost {
			_ = next(ctx, cmd)
		}
		cmd.SetErr(errInjected)
		return errInjected
	}
}

func (f *opFault) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		for _, c := range cmds {
			if f.hit(c) {
				if f.lost {
					_ = next(ctx, cmds)
				}
				for _, c := range cmds {
					c.SetErr(errInjected)
				}
				return errInjected
			}
		}
		return next(ctx, cmds)
	}
}

// Failed refunds fill the tenant's owed steps (shared with charges): a
// charge that then runs in Redis but loses its reply finds no room, is
// booked as a new debt and reconcile charges it a second time. Before
// refunds were booked the charge kept its step (its id) and ran once.
func TestRefundsCrowdOutOwedChargeOvercharge_r119(t *testing.T) {
	c := client(t, shared.addr())
	rf := &opFault{op: "settle", n: -1}
	cf := &opFault{op: "charge", n: 7, lost: true}
	c.AddHook(rf)
	c.AddHook(cf)
	// the breaker never opens (each call a failure of its own, sent), no
	// background reconcile within the test
	s := newStore(t, c, WithBreaker(1<<30, time.Second), WithLeaseTTL(time.Minute))
	p := store.Plan{Name: "free", Credits: 1000, Window: time.Hour, Concurrency: maxOwedSteps + 8}
	pf := func(string) *store.Plan { return &p }
	now := time.Now()
	ls := make([]Lease, maxOwedSteps)
	for i := range ls {
		var d store.Decision
		s.Take(now, &store.Request{Tenant: "t", App: "a", Credits: 2}, pf, &ls[i], &d)
		if !d.Allowed {
			t.Fatalf("take %d: %+v", i, d)
		}
	}
	rf.left.Store(1 << 30) // every refund's call fails, not run
	for i := range ls {
		if d := s.Settle(now, &ls[i], -1, false); d.Cost != -1 {
			t.Fatalf("refund %d: %+v, want booked (Cost -1)", i, d)
		}
		s.Release(&ls[i])
	}
	rf.left.Store(0)
	cf.left.Store(1 << 30) // the charge runs in Redis, its replies are lost
	if d := s.Charge(now, "t", 7, pf); d.Cost != 7 {
		t.Fatalf("charge: %+v", d)
	}
	cf.left.Store(0)
	s.reconcile()
	s.reconcile()
	// 64 x 2 taken, 64 x 1 refunded, 7 charged once
	if got, want := s.Peek(now, "t", 0, pf).Used, int64(2*maxOwedSteps-maxOwedSteps+7); got != want {
		t.Errorf("%d refunds booked, then a charge of 7 that ran (reply lost): pool used %d, want %d (%d over-charged)",
			maxOwedSteps, got, want, got-want)
	}
}

// WithReplayTTL between WithTimeout and twice it is accepted, but a failed
// refund's replay deadline (failure + ReplayTTL - 2 x Timeout) is then
// before the failure itself: the refund is booked (Cost -1, the lease's
// credits lowered) and dropped by the first reconcile without ever being
// sent. A refund that never reached Redis is lost, its Cost a lie.
func TestRefundDeadlineBeforeFailureNeverReplayed_r119(t *testing.T) {
	f := &settleFault{delta: -1}
	s, pf, now, l := refundLease(t, f, 4, WithLeaseTTL(time.Minute),
		WithTimeout(100*time.Millisecond), WithReplayTTL(150*time.Millisecond))
	f.left.Store(3) // every try fails before reaching Redis
	sd := s.Settle(now, l, -1, false)
	s.Release(l)
	s.reconcile() // at once: well within ReplayTTL of the failure
	used := s.Peek(now, "t", 0, pf).Used
	if sd.Cost == -1 && used != 3 {
		t.Errorf("a refund of 1 that never reached Redis, reconciled at once: settle Cost %d, pool used %d; booked, so want used 3 (or Cost 0 and the config refused)",
			sd.Cost, used)
	}
}
