package redis

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
	goredis "github.com/redis/go-redis/v9"
)

// loseRuns runs the next n script steps of op on Redis and loses each
// reply (an ambiguous error: the step ran), in plain sends and pipelines.
type loseRuns struct {
	op   string
	skip atomic.Int64 // steps of op let through first
	n    atomic.Int64
}

func (h *loseRuns) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *loseRuns) match(cmd goredis.Cmder) bool {
	a := cmd.Args()
	if len(a) <= 8 || (a[0] != "evalsha" && a[0] != "eval") || a[8] != h.op || h.n.Load() <= 0 {
		return false
	}
	return h.skip.Add(-1) < 0
}

func (h *loseRuns) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if !h.match(cmd) {
			return next(ctx, cmd)
		}
		if err := next(ctx, cmd); err != nil {
			return err // not run (NOSCRIPT): the next send
		}
		h.n.Add(-1)
		cmd.SetErr(io.ErrUnexpectedEOF)
		return io.ErrUnexpectedEOF
	}
}

func (h *loseRuns) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		var lose []goredis.Cmder
		for _, c := range cmds {
			if h.match(c) {
				lose = append(lose, c)
			}
		}
		if err := next(ctx, cmds); err != nil || len(lose) == 0 {
			return err
		}
		for _, c := range lose {
			if c.Err() == nil {
				h.n.Add(-1)
				c.SetErr(io.ErrUnexpectedEOF)
			}
		}
		return io.ErrUnexpectedEOF
	}
}

// A FailOpen take that ran and was refused (here for the cap) but whose
// replies were lost is admitted and booked as that step: reconcile's
// charge with the take's id finds the refusal and charges anew, with a
// fresh id. When that charge's replies are lost too (it ran), reconcile
// books the step again, and the next reconcile charges anew once more,
// with another fresh id: the pool counts the call's 5 credits twice.
func TestReconcileRefusedTakeChargedOnce(t *testing.T) {
	ca := client(t, shared.addr())
	h := &loseRuns{}
	ca.AddHook(h)
	prefix := "h59.recon" + time.Now().Format("150405.000000") + ":"
	// reconcile runs when the test says (the background's tick is an hour/3)
	a := newStore(t, ca, WithPrefix(prefix), WithTimeout(2*time.Second), WithFailure(FailOpen, 1),
		WithBreaker(100, time.Millisecond), WithLeaseTTL(time.Hour))
	b := newStore(t, client(t, shared.addr()), WithPrefix(prefix))
	p := store.Plan{Credits: 1000, Window: time.Hour, Concurrency: 1}
	pf := func(string) *store.Plan { return &p }
	req := &store.Request{Tenant: "t", App: "x", Credits: 5}
	var lb, la Lease
	var d store.Decision
	b.Take(time.Now(), &store.Request{Tenant: "t", App: "x"}, pf, &lb, &d) // the only slot: a's take is refused
	if !d.Allowed {
		t.Fatalf("b: %+v", d)
	}
	h.op = "take"
	h.n.Store(3) // the take and its two replays
	a.Take(time.Now(), req, pf, &la, &d)
	if !d.Allowed || h.n.Load() != 0 {
		t.Fatalf("FailOpen, take's replies lost: %+v (%d left)", d, h.n.Load())
	}
	a.Release(&la)
	b.Release(&lb)
	h.op = "charge"
	h.skip.Store(1) // the charge with the take's id, whose replay finds the refusal
	h.n.Store(3)    // the charge anew runs, unanswered, thrice
	a.reconcile()
	if h.n.Load() != 0 {
		t.Fatalf("the charge anew was not sent thrice: %d left", h.n.Load())
	}
	a.reconcile()
	a.reconcile()
	if used := b.Peek(time.Now(), "t", 0, pf).Used; used != 5 {
		t.Fatalf("one call of 5 credits admitted, the pool counts %d: %+v", used, a.Stats())
	}
}

// A FailOpen take that ran and admitted, its replies lost, leased a block
// beside the call: the script charged the block's credits to every
// window, but the instance never got the block. Reconcile's charge with
// the take's id finds the record (the call is charged once), yet the
// block's credits stayed charged, spent by no one, until the window
// rolled: the pool counts 5 + the block for one call of 5.
func TestReconcileGivesBackLostBlock(t *testing.T) {
	ca := client(t, shared.addr())
	h := &loseRuns{}
	ca.AddHook(h)
	prefix := "h59.lostblock" + time.Now().Format("150405.000000") + ":"
	a := newStore(t, ca, WithPrefix(prefix), WithTimeout(2*time.Second), WithFailure(FailOpen, 1),
		WithBreaker(100, time.Millisecond), WithLeaseTTL(time.Hour), WithCreditLeasing(64))
	b := newStore(t, client(t, shared.addr()), WithPrefix(prefix))
	p := store.Plan{Credits: 1000, Window: time.Hour, Concurrency: 4}
	pf := func(string) *store.Plan { return &p }
	var l Lease
	var d store.Decision
	h.op = "take"
	h.n.Store(3) // the take and its two replays
	a.Take(time.Now(), &store.Request{Tenant: "t", App: "x", Credits: 5}, pf, &l, &d)
	if !d.Allowed || h.n.Load() != 0 {
		t.Fatalf("FailOpen, take's replies lost: %+v (%d left)", d, h.n.Load())
	}
	a.Release(&l)
	if used := b.Peek(time.Now(), "t", 0, pf).Used; used <= 5 {
		t.Fatalf("the take leased no block (pool counts %d): the test shows nothing", used)
	}
	a.reconcile()
	a.reconcile()
	if used := b.Peek(time.Now(), "t", 0, pf).Used; used != 5 {
		t.Fatalf("one call of 5 credits admitted, and no block was had, the pool counts %d: %+v", used, a.Stats())
	}
}
