package limiter

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store/memory"
	"github.com/creditgate/creditgate/usage"
	"github.com/creditgate/creditgate/window"
)

func TestAcquireReasons(t *testing.T) {
	l := mustNew(t, testPlan(), withMem(memory.WithSlots(24)))
	req := Request{Tenant: "org", App: "a", Credits: 10}
	t1, d := l.Acquire(t0, req)
	if !d.Allowed || d.Remaining != 90 || d.Limit != 100 || d.Cost != 10 || d.RetryAfter != 0 {
		t.Fatalf("first: %+v", d)
	}
	t2, d := l.Acquire(t0, req)
	if !d.Allowed || d.Remaining != 80 {
		t.Fatalf("second: %+v", d)
	}
	// Concurrency 2 per app: the third in flight is refused, and costs nothing.
	_, d = l.Acquire(t0, req)
	if d.Allowed || d.Reason != ReasonConcurrency || d.Remaining != 80 || d.RetryAfter != ConcurrencyRetryAfter {
		t.Fatalf("third: %+v", d)
	}
	// Another app of the same tenant has its own slots but shares the pool.
	t3, d := l.Acquire(t0, Request{Tenant: "org", App: "b", Credits: 5, Class: "bulk"})
	if !d.Allowed || d.Remaining != 75 {
		t.Fatalf("app b: %+v", d)
	}
	// bulk has sub-concurrency 1 across apps.
	t1.Release()
	_, d = l.Acquire(t0, Request{Tenant: "org", App: "a", Credits: 5, Class: "bulk"})
	if d.Allowed || d.Reason != ReasonSubConcurrency {
		t.Fatalf("sub: %+v", d)
	}
	if !t3.Release() || t3.Release() {
		t.Fatal("Release reports true only the first time")
	}
	t4, d := l.Acquire(t0, Request{Tenant: "org", App: "a", Credits: 70, Class: "bulk"})
	if !d.Allowed || d.Remaining != 5 {
		t.Fatalf("bulk again: %+v", d)
	}
	t4.Release()
	// Credits: 5 left, ask 6.
	_, d = l.Acquire(t0.Add(time.Minute), Request{Tenant: "org", App: "a", Credits: 6})
	// Credits spent in a slot come back a window after the slot ends (24 slots: 1 h).
	if d.Allowed || d.Reason != ReasonCredits || d.RetryAfter <= 0 || d.RetryAfter > 25*time.Hour {
		t.Fatalf("credits: %+v", d)
	}
	// The refusal gave back the slot: app a has t2 only, so two more fit.
	ta, d1 := l.Acquire(t0, Request{Tenant: "org", App: "a"})
	if !d1.Allowed {
		t.Fatalf("slot leaked: %+v", d1)
	}
	ta.Release()
	t2.Release()
	// Credits come back after the window.
	_, d = l.Acquire(t0.Add(25*time.Hour), Request{Tenant: "org", App: "a", Credits: 100})
	if !d.Allowed || d.Remaining != 0 {
		t.Fatalf("after window: %+v", d)
	}
	if got := l.Peek(t0.Add(25*time.Hour), "org"); got.Remaining != 0 || got.Limit != 100 {
		t.Fatalf("peek: %+v", got)
	}
	if got := l.Peek(t0, "nobody"); got.Remaining != 100 {
		t.Fatalf("peek unknown: %+v", got)
	}
}

// A tenant's first application and first class share one word of slots
// (slots0), the rest have their own: every mix of the two refuses for the
// right reason and gives back all it took.
func TestSlotMixes(t *testing.T) {
	l := mustNew(t, Plan{Name: "p", Credits: 100, Concurrency: 1, SubConcurrency: map[string]int64{"a": 1, "b": 1}})
	take := func(app, class string, want Reason) Ticket {
		t.Helper()
		tk, d := l.Acquire(t0, Request{Tenant: "o", App: app, Class: class, Credits: 1})
		if d.Reason != want {
			t.Fatalf("%s/%s: %v, want %v", app, class, d.Reason, want)
		}
		return tk
	}
	take("x", "", ReasonNone).Release() // x is the first app, "a" the first class
	for _, c := range []struct {
		app, class   string // held
		app2, class2 string // then tried
		want         Reason
	}{
		{"x", "a", "x", "b", ReasonConcurrency},    // both halves held: x's refuses
		{"x", "a", "y", "a", ReasonSubConcurrency}, // y has room, a's half refuses
		{"y", "a", "x", "a", ReasonSubConcurrency}, // x's half has room, a's refuses
		{"x", "b", "y", "b", ReasonSubConcurrency}, // b's own slots refuse
		{"y", "b", "y", "a", ReasonConcurrency},    // y's own slots refuse
		{"x", "b", "x", "a", ReasonConcurrency},    // x's half refuses before a's is tried
	} {
		held := take(c.app, c.class, ReasonNone)
		take(c.app2, c.class2, c.want)
		held.Release()
		take(c.app2, c.class2, ReasonNone).Release()
		assertNoSlotsHeld(t, l)
	}
}

func TestSettle(t *testing.T) {
	l := mustNew(t, testPlan(), withMem(memory.WithSlots(24)))
	tk, _ := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 10})
	tk.Settle(t0.Add(time.Second), 4) // refund 6
	tk.Settle(t0.Add(time.Second), 0) // second settle: no-op
	if d := l.Peek(t0.Add(time.Second), "o"); d.Remaining != 96 {
		t.Fatalf("after refund: %+v", d)
	}
	tk.Release()
	tk.Settle(t0, 0) // after release: no-op
	if d := l.Peek(t0.Add(time.Second), "o"); d.Remaining != 96 {
		t.Fatalf("settle after release: %+v", d)
	}
	tk, _ = l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 10})
	tk.Settle(t0, 15) // charge 5 more
	if d := l.Peek(t0, "o"); d.Remaining != 81 {
		t.Fatalf("after charge: %+v", d)
	}
	cp := tk
	tk.Release()
	tk2, _ := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 1}) // reuses the pooled state
	tk3, _ := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 1})
	if cp.Release() { // stale copy: must not release tk2's slot
		t.Fatal("a stale copy's Release reported true")
	}
	cp.Settle(t0, 0)
	if _, d := l.Acquire(t0, Request{Tenant: "o", App: "a"}); d.Allowed {
		t.Fatal("stale copy released a live ticket's slot")
	}
	tk2.Settle(t0, 0) // refund whole
	tk2.Release()
	tk3.Release()
	if d := l.Peek(t0, "o"); d.Remaining != 80 {
		t.Fatalf("end: %+v", d)
	}
	var zero Ticket
	if zero.Release() {
		t.Fatal("the zero ticket's Release reported true")
	}
	zero.Settle(t0, 3)
}

// TestSettleHuge: a settled cost near MaxInt64 (a handler's bug, a hostile
// figure) spends what is left of the pool, and the pool stays spent until
// its credits come back; the usage statistics count it as the largest pool.
func TestSettleHuge(t *testing.T) {
	u := newStats(t, 0, 0)
	l := mustNew(t, testPlan(), withMem(memory.WithSlots(24)), WithUsage(u))
	tk, _ := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 10})
	tk.Settle(t0, math.MaxInt64)
	tk.Release()
	for _, at := range []time.Duration{0, time.Hour, 23 * time.Hour} {
		if _, d := l.Acquire(t0.Add(at), Request{Tenant: "o", App: "a", Credits: 1}); d.Allowed || d.Remaining != 0 {
			t.Fatalf("t0+%v: a pool spent by a huge settle admitted: %+v", at, d)
		}
	}
	if d := l.Peek(t0.Add(25*time.Hour), "o"); d.Remaining != 100 {
		t.Fatalf("the pool did not come back: %+v", d)
	}
	top := u.Top("o", usage.App, t0, t0.Add(time.Hour), 1)
	if len(top) != 1 || top[0].Credits != window.MaxLimit {
		t.Fatalf("usage of the settled call: %+v (want %d credits)", top, int64(window.MaxLimit))
	}
}

func TestSetPlan(t *testing.T) {
	l := mustNew(t, testPlan(), withMem(memory.WithSlots(24)))
	tk, _ := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 90})
	up := testPlan()
	up.Credits += 50
	up.Concurrency = 1
	if err := l.SetPlanAt(t0, "o", up); err != nil {
		t.Fatal(err)
	}
	if d := l.Peek(t0, "o"); d.Limit != 150 || d.Remaining != 60 {
		t.Fatalf("upgrade lost accounting: %+v", d)
	}
	if _, d := l.Acquire(t0, Request{Tenant: "o", App: "a"}); d.Reason != ReasonConcurrency {
		t.Fatalf("capacity cut not applied: %+v", d)
	}
	tk.Release()
	if _, d := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 60}); !d.Allowed {
		t.Fatalf("after upgrade: %+v", d)
	}
	if l.Plan("o").Credits != 150 || l.Plan("x").Credits != 100 {
		t.Fatal("Plan")
	}
	bad := testPlan()
	bad.Concurrency = 0
	if err := l.SetPlanAt(t0, "o", bad); err == nil {
		t.Fatal("invalid plan accepted")
	}
	// A new window length: the used credits carry over.
	long := up
	long.Window = 48 * time.Hour
	if err := l.SetPlanAt(t0, "o", long); err != nil {
		t.Fatal(err)
	}
	if d := l.Peek(t0, "o"); d.Remaining != 0 {
		t.Fatalf("window change lost accounting: %+v", d)
	}
}

func TestPlanFor(t *testing.T) {
	l := mustNew(t, testPlan(), WithPlanFor(func(tenant string) Plan {
		p := testPlan()
		if tenant == "big" {
			p.Credits = 1000
		}
		if tenant == "broken" {
			p.Concurrency = -1
		}
		return p
	}))
	if _, d := l.Acquire(t0, Request{Tenant: "big", App: "a", Credits: 500}); !d.Allowed || d.Limit != 1000 {
		t.Fatalf("big: %+v", d)
	}
	if _, d := l.Acquire(t0, Request{Tenant: "broken", App: "a", Credits: 1}); !d.Allowed || d.Limit != 100 {
		t.Fatalf("broken falls back to default: %+v", d)
	}
}

func TestMaxTenants(t *testing.T) {
	l := mustNew(t, testPlan(), withMem(memory.WithMaxTenants(2), memory.WithSlots(24)))
	ta, _ := l.Acquire(t0, Request{Tenant: "a", App: "x", Credits: 1})
	tb, _ := l.Acquire(t0, Request{Tenant: "b", App: "x"})
	_, d := l.Acquire(t0, Request{Tenant: "c", App: "x"})
	if d.Allowed || d.Reason != ReasonTenants {
		t.Fatalf("full of busy tenants: %+v", d)
	}
	tb.Release() // b: nothing in flight and a full pool -> dropped
	ta.Release() // a: spent credits -> folded
	// Within the sweep backoff nothing is scanned.
	if _, d = l.Acquire(t0.Add(time.Millisecond), Request{Tenant: "c", App: "x"}); d.Reason != ReasonTenants {
		t.Fatalf("backoff: %+v", d)
	}
	tc, d := l.Acquire(t0.Add(2*time.Second), Request{Tenant: "c", App: "x"})
	if !d.Allowed {
		t.Fatalf("after eviction: %+v", d)
	}
	tc.Release()
	ms := l.Store().(*memory.Store)
	if ms.Len() != 1 || ms.Evicted() != 2 || ms.Folded() != 1 {
		t.Fatalf("len %d evicted %d folded %d", ms.Len(), ms.Evicted(), ms.Folded())
	}
	if d := l.Peek(t0.Add(2*time.Second), "a"); d.Remaining != 99 {
		t.Fatalf("a was folded without its credits spent: %+v", d)
	}
	if _, d := l.Acquire(t0.Add(3*time.Second), Request{Tenant: "a", App: "x", Credits: 100}); d.Allowed {
		t.Fatalf("a came back with a full pool: %+v", d)
	}
}

func TestMaxApps(t *testing.T) {
	l := mustNew(t, testPlan(), withMem(memory.WithMaxApps(2)))
	t1, _ := l.Acquire(t0, Request{Tenant: "o", App: "1"})
	t2, _ := l.Acquire(t0, Request{Tenant: "o", App: "2"})
	if _, d := l.Acquire(t0, Request{Tenant: "o", App: "3"}); d.Reason != ReasonConcurrency {
		t.Fatalf("too many busy apps: %+v", d)
	}
	t1.Release()
	t3, d := l.Acquire(t0, Request{Tenant: "o", App: "3"})
	if !d.Allowed {
		t.Fatalf("idle app not dropped: %+v", d)
	}
	t2.Release()
	t3.Release()
}

func TestClockJumpsBackwards(t *testing.T) {
	l := mustNew(t, testPlan(), withMem(memory.WithSlots(24)))
	tk, d := l.Acquire(t0.Add(time.Hour), Request{Tenant: "o", App: "a", Credits: 60})
	tk.Release()
	if !d.Allowed {
		t.Fatal(d)
	}
	// An earlier clock must not see a fuller pool than the later one did.
	_, d = l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 41})
	if d.Allowed {
		t.Fatalf("backwards clock admitted more than the limit: %+v", d)
	}
	tk, d = l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 40})
	if !d.Allowed || d.Remaining != 0 {
		t.Fatalf("%+v", d)
	}
	tk.Release()
}

func TestOddCosts(t *testing.T) {
	l := mustNew(t, testPlan())
	// More than the whole pool: refused for credits, with a retry hint that
	// is at least a window away (it can never fit).
	_, d := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 101})
	if d.Allowed || d.Reason != ReasonCredits || d.RetryAfter < 24*time.Hour {
		t.Fatalf("over the pool: %+v", d)
	}
	// A negative cost is a free call, and settling it cannot mint credits.
	tk, d := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: -5})
	if !d.Allowed || d.Cost != 0 || d.Remaining != 100 {
		t.Fatalf("negative: %+v", d)
	}
	tk.Settle(t0, -7)
	tk.Release()
	if d := l.Peek(t0, "o"); d.Remaining != 100 {
		t.Fatalf("after settle: %+v", d)
	}
	for _, r := range []Reason{ReasonNone, ReasonCredits, ReasonConcurrency, ReasonSubConcurrency, ReasonTenants, 99} {
		if r.String() == "" {
			t.Fatal(r)
		}
	}
}

func TestIdleAfter(t *testing.T) {
	l := mustNew(t, testPlan(), withMem(memory.WithMaxTenants(1), memory.WithIdleAfter(time.Hour)))
	tk, _ := l.Acquire(t0, Request{Tenant: "a", App: "x"})
	tk.Release()
	if _, d := l.Acquire(t0.Add(time.Minute), Request{Tenant: "b", App: "x"}); d.Reason != ReasonTenants ||
		d.RetryAfter != 59*time.Minute {
		t.Fatalf("a evicted before its idle time, or the refusal does not say when it will be (issue #13 item 6): %+v", d)
	}
	if _, d := l.Acquire(t0.Add(2*time.Hour), Request{Tenant: "b", App: "x"}); !d.Allowed {
		t.Fatalf("a not evicted after its idle time: %+v", d)
	}
}

// Idleness is kept to an eighth of the idle time: a use that comes later
// than that after the last one recorded restarts the idle time, and an
// earlier one may not (the tenant then goes at most an eighth early).
func TestIdleAfterGrain(t *testing.T) {
	l := mustNew(t, testPlan(), withMem(memory.WithMaxTenants(1), memory.WithIdleAfter(time.Hour)))
	use := func(tenant string, at time.Duration) Decision {
		tk, d := l.Acquire(t0.Add(at), Request{Tenant: tenant, App: "x"})
		tk.Release()
		return d
	}
	use("a", 0)
	use("a", 50*time.Minute) // more than 7.5 minutes later: recorded
	if d := use("b", 105*time.Minute); d.Reason != ReasonTenants {
		t.Fatalf("a, used 55 minutes ago, evicted: %+v", d)
	}
	if d := use("b", 111*time.Minute); !d.Allowed {
		t.Fatalf("a, used 61 minutes ago, not evicted: %+v", d)
	}
	use("b", 115*time.Minute) // within 7.5 minutes of the last record
	if d := use("c", 172*time.Minute); !d.Allowed {
		t.Fatalf("b, recorded 61 minutes ago, not evicted: %+v", d)
	}
}

func TestCompoundPlan(t *testing.T) {
	p := testPlan()
	p.Extra = []WindowLimit{{Credits: 10, Window: 10 * time.Second}}
	l := mustNew(t, p, withMem(memory.WithSlots(24)))
	tk, d := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 10})
	if !d.Allowed || d.Limit != 100 {
		t.Fatalf("%+v", d)
	}
	tk.Release()
	_, d = l.Acquire(t0.Add(time.Second), Request{Tenant: "o", App: "a", Credits: 1})
	if d.Allowed || d.Reason != ReasonCredits || d.RetryAfter <= 0 || d.RetryAfter > 20*time.Second {
		t.Fatalf("extra window must refuse: %+v", d)
	}
	tk, d = l.Acquire(t0.Add(30*time.Second), Request{Tenant: "o", App: "a", Credits: 10})
	if !d.Allowed {
		t.Fatalf("extra window must have refilled: %+v", d)
	}
	tk.Settle(t0.Add(30*time.Second), 0)
	tk.Release()
	// Upgrading the pool keeps the compound.
	up := p.Clone()
	up.Credits += 100
	if err := l.SetPlanAt(t0.Add(30*time.Second), "o", up); err != nil {
		t.Fatal(err)
	}
	if d := l.Peek(t0.Add(time.Minute), "o"); d.Limit != 200 {
		t.Fatalf("after upgrade: %+v", d)
	}
	_, d = l.Acquire(t0.Add(time.Minute), Request{Tenant: "o", App: "a", Credits: 11})
	if d.Allowed {
		t.Fatalf("extra window lost by the upgrade: %+v", d)
	}
}

func TestUsageThroughLimiter(t *testing.T) {
	u := newStats(t, 0, 10)
	l := mustNew(t, Plan{Name: "p", Credits: 1 << 20, Concurrency: 1}, WithUsage(u))
	for i := 0; i < 5000; i++ { // many batches: the drainer and the full queue both work
		tk, _ := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 1})
		tk.Release()
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := u.Series("o", t0, t0.Add(time.Hour)); len(s) != 1 || s[0].Calls != 5000 || s[0].Credits != 5000 {
		t.Fatalf("%+v", s)
	}
	if l.Usage() != u {
		t.Fatal("Usage()")
	}
}

// A class dropped and re-added by plan changes while a request holds its
// slot: the release goes to the semaphore it was taken from.
func TestSetPlanClassChurn(t *testing.T) {
	l := mustNew(t, testPlan())
	tk, d := l.Acquire(t0, Request{Tenant: "o", App: "a", Class: "bulk", Credits: 1})
	if !d.Allowed {
		t.Fatal(d)
	}
	noBulk := testPlan()
	noBulk.SubConcurrency = nil
	if err := l.SetPlanAt(t0, "o", noBulk); err != nil {
		t.Fatal(err)
	}
	// bulk is uncapped now: a second bulk call (the cap was 1) takes no class slot.
	tkU, d := l.Acquire(t0, Request{Tenant: "o", App: "b", Class: "bulk", Credits: 1})
	if !d.Allowed {
		t.Fatalf("bulk without a cap: %+v", d)
	}
	tkU.Release()
	if err := l.SetPlanAt(t0, "o", testPlan()); err != nil {
		t.Fatal(err)
	}
	tk.Release() // must not panic on the new semaphore
	tk2, d := l.Acquire(t0, Request{Tenant: "o", App: "a", Class: "bulk", Credits: 1})
	if !d.Allowed {
		t.Fatalf("new bulk semaphore: %+v", d)
	}
	if _, d := l.Acquire(t0, Request{Tenant: "o", App: "b", Class: "bulk", Credits: 1}); d.Reason != ReasonSubConcurrency {
		t.Fatalf("bulk cap: %+v", d)
	}
	tk2.Release()
}

func TestUsesCallers(t *testing.T) {
	p := Plan{Name: "p", Credits: 10, Concurrency: 1}
	if l := mustNew(t, p); l.UsesCallers() {
		t.Fatal("without usage statistics nothing reads User and IP")
	}
	if l := mustNew(t, p, WithUsage(newStats(t, 0, 0))); !l.UsesCallers() {
		t.Fatal("usage statistics read User and IP")
	}
}

// WithPlanFor's answers reach the store as one *Plan per distinct plan, not
// a new one per call: a store that keeps per-plan state (store/redis's plan
// cache and credit leasing) saw every call's plan as new (found behind the
// gateway: credit leasing never served a call locally).
func TestPlanForStablePointers(t *testing.T) {
	l := mustNew(t, testPlan(), WithPlanFor(func(tenant string) Plan {
		p := testPlan()
		if tenant == "big" {
			p.Credits = 1000
		}
		return p
	}))
	a, b := l.resolve("x"), l.resolve("y")
	if a != b || a != l.resolve("x") {
		t.Fatal("the same plan for two calls came as two pointers")
	}
	if big := l.resolve("big"); big == a || big.Credits != 1000 {
		t.Fatalf("a different plan shares a pointer: %+v", big)
	}
}

// AcquireTo decides as Acquire does, and overwrites every field of the
// decision it is given, refused or admitted: a caller reusing one Decision
// never reads a field of the one before.
func TestAcquireToAsAcquire(t *testing.T) {
	mk := func() *Limiter {
		l, err := New(Plan{Name: "p", Credits: 100, Concurrency: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close(context.Background()) })
		return l
	}
	a, b := mk(), mk()
	stale := Decision{Allowed: true, Reason: ReasonTenants, Cost: -7, Limit: -7, Remaining: -7, Used: -7,
		Reset: time.Unix(7, 7), Window: -7, RetryAfter: -7}
	steps := []Request{
		{Tenant: "o", App: "x", Credits: 60},
		{Tenant: "o", App: "x", Credits: 1}, // the slot is held: refused
		{Tenant: "o", App: "y", Credits: 60},
		{Tenant: "p", App: "x", Credits: 101}, // more than the pool
		{Tenant: "o", App: "z", Credits: 0},
	}
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var held []Ticket
	for i, req := range steps {
		ta, da := a.Acquire(at, req)
		d := stale
		tb := b.AcquireTo(at, &req, &d)
		if d != da {
			t.Errorf("step %d: AcquireTo %+v, Acquire %+v", i, d, da)
		}
		if (ta == Ticket{}) != (tb == Ticket{}) {
			t.Errorf("step %d: tickets differ in being zero", i)
		}
		if i == 1 {
			for _, tk := range held {
				tk.Release()
			}
			held = nil
		}
		held = append(held, ta, tb)
	}
	for _, tk := range held {
		tk.Release()
	}
}
