package redis

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/creditgate/creditgate/store"
)

// faults is a client hook that fails every command while down, and the
// first pipeline carrying a renewal after failRenew is set (one lost round
// trip, as a flaky network loses one).
type faults struct {
	down, failRenew atomic.Bool
	renewsFailed    atomic.Int64
}

var errInjected = errors.New("r116: injected network failure")

func (f *faults) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (f *faults) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if f.down.Load() {
			cmd.SetErr(errInjected)
			return errInjected
		}
		if f.isRenew(cmd) && f.failRenew.CompareAndSwap(true, false) {
			f.renewsFailed.Add(1)
			cmd.SetErr(errInjected)
			return errInjected
		}
		return next(ctx, cmd)
	}
}

func (f *faults) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		fail := f.down.Load()
		if !fail {
			for _, c := range cmds {
				if f.isRenew(c) && f.failRenew.CompareAndSwap(true, false) {
					f.renewsFailed.Add(1)
					fail = true
					break
				}
			}
		}
		if fail {
			for _, c := range cmds {
				c.SetErr(errInjected)
			}
			return errInjected
		}
		return next(ctx, cmds)
	}
}

func (f *faults) isRenew(c goredis.Cmder) bool {
	for _, a := range c.Args() {
		if s, ok := a.(string); ok && s == "renew" {
			return true
		}
	}
	return false
}

// The enrolment of the calls Degraded's share admitted is one renewal
// round trip ahead of the tenant's first take once Redis is back; if that
// one round trip fails (the breaker still closed: one failure of
// DefaultFailures), the take is sent all the same, and Redis, which counts
// none of the share's calls, admits beside them: 3 calls run on a cap of 2.
func TestEnrollFailureTakeAdmitsPastCap_r116(t *testing.T) {
	c := client(t, shared.addr())
	f := &faults{}
	c.AddHook(f)
	s := newStore(t, c, WithFailure(Degraded, 1), WithBreaker(5, 50*time.Millisecond), WithTimeout(300*time.Millisecond),
		WithLeaseTTL(30*time.Second)) // no background renewal within the test
	p := store.Plan{Name: "free", Credits: 1000, Window: time.Hour, Concurrency: 2}
	pf := func(string) *store.Plan { return &p }
	try := func() (*Lease, store.Decision) {
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "t", App: "a", Credits: 1, Units: 1}, pf, &l, &d)
		return &l, d
	}
	if l, d := try(); !d.Allowed || l.kind != remoteLease {
		t.Fatalf("first take: %+v kind %d", d, l.kind)
	} else {
		s.Release(l)
	}
	time.Sleep(10 * flushDelay)

	f.down.Store(true) // Redis out of reach for two takes (the breaker, at 5, stays closed)
	var ls []*Lease
	for range 2 {
		l, d := try()
		if !d.Allowed || l.kind != degradedLease {
			t.Fatalf("the share of 2: %+v kind %d", d, l.kind)
		}
		ls = append(ls, l)
	}
	f.down.Store(false)
	f.failRenew.Store(true) // the enrolment's round trip is lost

	l, d := try()
	if f.renewsFailed.Load() != 1 {
		t.Fatalf("no enrolment was sent (%d failed)", f.renewsFailed.Load())
	}
	if d.Allowed {
		t.Errorf("the enrolment failed, Redis counts none of the share's 2 calls in flight: a third call admitted on cap 2 (%+v, kind %d)", d, l.kind)
		s.Release(l)
	}
	for _, l := range ls {
		s.Release(l)
	}
}

// settleFault fails the next left commands or pipelines carrying a
// settle of delta.
type settleFault struct {
	faults
	delta int64
	left  atomic.Int64 // round trips still to fail
}

func (f *settleFault) hit(c goredis.Cmder) bool {
	args := c.Args()
	for i, a := range args {
		if s, ok := a.(string); ok && s == "settle" && i+1 < len(args) {
			for _, b := range args[i+1:] {
				if v, ok := b.(int64); ok && v == f.delta {
					return f.left.Add(-1) >= 0
				}
			}
		}
	}
	return false
}

func (f *settleFault) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if f.hit(cmd) {
			cmd.SetErr(errInjected)
			return errInjected
		}
		return next(ctx, cmd)
	}
}

func (f *settleFault) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		for _, c := range cmds {
			if f.hit(c) {
				for _, c := range cmds {
					c.SetErr(errInjected)
				}
				return errInjected
			}
		}
		return next(ctx, cmds)
	}
}

// The mechanism of d109's ConcurrentSettles failure (used 3994, want
// 3993): a refund whose call fails (the breaker stays closed) is dropped for good
// (settleUnavailable), where a charge that fails is booked and reconciled
// (its tries all failed, as when a loaded machine's call runs past its
// deadline).
// The pool keeps the credit; the settle reports Cost 0. Not a double
// charge: a lost refund.
func TestRefundLostOnOneFailure_r116(t *testing.T) {
	c := client(t, shared.addr())
	f := &settleFault{delta: -1}
	c.AddHook(f)
	s := newStore(t, c, WithClientTime(), WithLeaseTTL(300*time.Millisecond)) // reconcile every 100 ms
	p := store.Plan{Name: "free", Credits: 1000, Window: time.Hour, Concurrency: 4}
	pf := func(string) *store.Plan { return &p }
	now := time.Now()
	var l Lease
	var d store.Decision
	s.Take(now, &store.Request{Tenant: "t", App: "a", Credits: 2}, pf, &l, &d)
	if !d.Allowed {
		t.Fatalf("take: %+v", d)
	}
	f.left.Store(3) // every try of the call (see Store.call): its deadline ran out
	sd := s.Settle(now, &l, -1, false)
	s.Release(&l)
	time.Sleep(500 * time.Millisecond) // reconciles ran (every 100 ms)
	// unless the background came late (-race on two busy cores): then the
	// pool is read until the refund's replay has changed it, 5 s at most
	got := s.Peek(now, "t", 0, pf).Used
	for deadline := time.Now().Add(5 * time.Second); got == 2 && time.Now().Before(deadline); got = s.Peek(now, "t", 0, pf).Used {
		time.Sleep(10 * time.Millisecond)
	}
	if got != 1 || sd.Cost != -1 {
		t.Errorf("a call that cost 1 after a failed refund call: pool used %d, settle %+v; want used 1, Cost -1", got, sd)
	}
}
