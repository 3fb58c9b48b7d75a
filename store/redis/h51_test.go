package redis

import (
	"cmp"
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/creditgate/creditgate/store"
)

// A slot key (the application's leases) must live as long as the slots it
// holds. A take added its member to an existing key without pushing the
// key's expiry, which the key's first take (or the last renewal) had set
// to three of that instance's lease TTLs: when that instance let go (a
// release, a crash) the key expired under the slots of others still in
// flight, and the cap admitted again. Here a holds with a 30 ms TTL, b
// (30 s) takes the other slot, a releases: 200 ms later b's call is still
// in flight, and the cap of 2 must still count it.
func TestSlotKeyOutlivesItsSlots(t *testing.T) {
	c := client(t, shared.addr())
	prefix := "h51.slotkey" + time.Now().Format("150405.000000") + ":"
	// a's short lease is the point, not a scheduling bet: it sets the key's
	// expiry (three of a's TTLs, 90 ms) that b's take must push on. With
	// 900 ms (50d635c, the cure of TestLeasesByOneClock applied here too)
	// the key outlived the 200 ms sleep with the bug, and the test passed
	// on 56fb0f0^. A late goroutine only makes a's lease run out sooner,
	// which admits nothing beside b's slot.
	a := newStore(t, c, WithPrefix(prefix), WithLeaseTTL(30*time.Millisecond))
	b := newStore(t, c, WithPrefix(prefix), WithLeaseTTL(30*time.Second))
	p := store.Plan{Credits: 100, Window: time.Hour, Concurrency: 2, SubConcurrency: map[string]int64{"k": 2}}
	pf := func(string) *store.Plan { return &p }
	req := &store.Request{Tenant: "t", App: "x", Class: "k", Credits: 1}
	var la, lb Lease
	var d store.Decision
	a.Take(time.Now(), req, pf, &la, &d)
	if !d.Allowed {
		t.Fatalf("a: %+v", d)
	}
	b.Take(time.Now(), req, pf, &lb, &d)
	if !d.Allowed {
		t.Fatalf("b: %+v", d)
	}
	a.Release(&la)
	time.Sleep(200 * time.Millisecond) // three of a's TTLs, twice over; b's lease runs 30 s
	var ls [2]Lease
	admitted := 0
	for i := range ls {
		a.Take(time.Now(), req, pf, &ls[i], &d)
		if d.Allowed {
			admitted++
		}
	}
	for i := range ls {
		a.Release(&ls[i])
	}
	b.Release(&lb)
	if admitted > 1 {
		t.Fatalf("b's call holds one of 2 slots, yet %d more were admitted: its slot key expired under it", admitted)
	}
}

// A renewal set the slot keys' expiry to three of the renewing instance's
// lease TTLs, also when that shortened it: an instance with short leases
// (a, 30 ms) that held a slot for a while, then let go, took the key down
// with the slot of b (30 s leases) still in it.
func TestSlotKeyOutlivesRenewals(t *testing.T) {
	c := client(t, shared.addr())
	prefix := "h51.renew" + time.Now().Format("150405.000000") + ":"
	// a's short lease is the point, not a scheduling bet: its renewal cut
	// the key's expiry to three of a's TTLs (90 ms). With 900 ms (50d635c,
	// the cure of TestLeasesByOneClock applied here too) the key outlived
	// the 200 ms sleep with the bug, and the test passed on 1d2f10b^. A
	// late goroutine only makes a's lease run out sooner, which admits
	// nothing beside b's slot.
	a := newStore(t, c, WithPrefix(prefix), WithLeaseTTL(30*time.Millisecond))
	b := newStore(t, c, WithPrefix(prefix), WithLeaseTTL(30*time.Second))
	p := store.Plan{Credits: 100, Window: time.Hour, Concurrency: 2, SubConcurrency: map[string]int64{"k": 2}}
	pf := func(string) *store.Plan { return &p }
	req := &store.Request{Tenant: "t", App: "x", Class: "k", Credits: 1}
	var la, lb Lease
	var d store.Decision
	b.Take(time.Now(), req, pf, &lb, &d)
	if !d.Allowed {
		t.Fatalf("b: %+v", d)
	}
	a.Take(time.Now(), req, pf, &la, &d)
	if !d.Allowed {
		t.Fatalf("a: %+v", d)
	}
	// a renews its slot (every 10 ms): wait for the renewal to move its
	// deadline, rather than sleep a guess at it (without one the key's
	// expiry is b's, and the test would pass with the bug)
	ctx := t.Context()
	s0, err := c.ZScore(ctx, la.akey, la.member).Result()
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if s, err := c.ZScore(ctx, la.akey, la.member).Result(); err == nil && s != s0 {
			break
		}
		if time.Now().After(end) {
			t.Fatal("a's lease was not renewed in 5 s")
		}
	}
	a.Release(&la)
	time.Sleep(200 * time.Millisecond)
	var ls [2]Lease
	admitted := 0
	for i := range ls {
		a.Take(time.Now(), req, pf, &ls[i], &d)
		if d.Allowed {
			admitted++
		}
	}
	for i := range ls {
		a.Release(&ls[i])
	}
	b.Release(&lb)
	if admitted > 1 {
		t.Fatalf("b's call holds one of 2 slots, yet %d more were admitted: a's renewals shortened its slot key's life", admitted)
	}
}

// A leased block may be spent only while the windows still count it: for
// half the shortest window from the instant Redis counted it at. In
// server time mode those windows roll by Redis's clock, but the block's
// deadline was read off the caller's now: a caller whose clock went back
// (or a fake clock standing still) went on spending a block whose credits
// had come back to the pool, and another instance spent them again.
func TestBlockExpiresByRedisClock(t *testing.T) {
	c := client(t, shared.addr())
	prefix := "h51.blockclock" + time.Now().Format("150405.000000") + ":"
	a := newStore(t, c, WithPrefix(prefix), WithCreditLeasing(64))
	b := newStore(t, c, WithPrefix(prefix))
	p := store.Plan{Credits: 64, Window: 300 * time.Millisecond, Concurrency: 8}
	pf := func(string) *store.Plan { return &p }
	now0 := time.Now().Round(0) // a wall clock reading
	var l Lease
	var d store.Decision
	a.Take(now0, &store.Request{Tenant: "t", App: "x", Credits: 1}, pf, &l, &d)
	if !d.Allowed {
		t.Fatalf("a: %+v", d)
	}
	a.Release(&l) // its slot kept as a spare, with the block
	if st := a.Stats(); st.Blocks != 1 {
		t.Fatalf("no block leased: %+v", st)
	}
	time.Sleep(500 * time.Millisecond) // the window rolls past the block's credits
	b.Take(time.Now(), &store.Request{Tenant: "t", App: "y", Credits: 64}, pf, &l, &d)
	if !d.Allowed {
		t.Fatalf("b: the pool is not whole again after its window: %+v", d)
	}
	b.Release(&l)
	a.Take(now0.Add(-time.Second), &store.Request{Tenant: "t", App: "x", Credits: 1}, pf, &l, &d)
	allowed := d.Allowed
	a.Release(&l)
	if allowed {
		t.Fatalf("the pool of 64 is spent within its window, yet a admitted from a block whose credits came back to it: %+v", d)
	}
}

// A spare slot (credit leasing keeps an ended call's slot for the next) is
// reused by a take through Redis without the cap being checked: it was
// counted already. But a plan that lowered the cap since leaves more slots
// held than it allows, and the take, which read that plan, admitted anyway.
// Cap 2: a keeps a spare, b holds the other slot, b lowers the cap to 1:
// a's next take through Redis must be refused.
func TestSpareReuseChecksTheCap(t *testing.T) {
	c := client(t, shared.addr())
	prefix := "h51.sparecap" + time.Now().Format("150405.000000") + ":"
	a := newStore(t, c, WithPrefix(prefix), WithCreditLeasing(64))
	b := newStore(t, c, WithPrefix(prefix))
	p := store.Plan{Credits: 1000, Window: time.Hour, Concurrency: 2}
	pf := func(string) *store.Plan { return &p }
	var la, lb Lease
	var d store.Decision
	a.Take(time.Now(), &store.Request{Tenant: "t", App: "x", Credits: 1}, pf, &la, &d)
	if !d.Allowed {
		t.Fatalf("a: %+v", d)
	}
	a.Release(&la) // kept as a spare
	b.Take(time.Now(), &store.Request{Tenant: "t", App: "x", Credits: 1}, pf, &lb, &d)
	if !d.Allowed {
		t.Fatalf("b: %+v", d)
	}
	defer b.Release(&lb)
	low := p
	low.Concurrency = 1
	if err := b.SetPlan(time.Now(), "t", &low); err != nil {
		t.Fatal(err)
	}
	// more than a's block: through Redis, which holds the new plan
	a.Take(time.Now(), &store.Request{Tenant: "t", App: "x", Credits: 100}, pf, &la, &d)
	allowed := d.Allowed
	a.Release(&la)
	if allowed {
		t.Fatalf("b's call holds the one slot the new plan allows, yet a's take on its spare was admitted: %+v", d)
	}
	if d.Reason != store.ReasonConcurrency {
		t.Fatalf("refused for %v, not concurrency: %+v", d.Reason, d)
	}
}

// A restart without persistence loses every slot. A spare slot (credit
// leasing) that Redis no longer holds was renewed in vain (the renewal
// counted it lost) and kept: the instance admitted calls on it without a
// round trip, on a slot no one counted, for as long as it kept it busy.
// With cap 1, a's call on its lost spare and b's call were both admitted.
func TestLostSpareNotReused(t *testing.T) {
	srv, err := startServer(0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.remove()
	c := client(t, srv.addr())
	// The lease outlives a slow renewal: a's last take holds a slot on a
	// 60 ms lease, and a stall of the test past it under -race on two busy
	// cores (no renewal between a's take and b's) would let it run out and
	// b be rightly admitted (session 25)
	a := newStore(t, c, WithCreditLeasing(64), WithLeaseTTL(900*time.Millisecond), WithBreaker(1000, time.Millisecond))
	b := newStore(t, c, WithPrefix(a.cfg.prefix))
	p := store.Plan{Credits: 1000, Window: time.Hour, Concurrency: 1}
	pf := func(string) *store.Plan { return &p }
	free := &store.Request{Tenant: "t", App: "x"} // a free call: a spare covers it
	var la, lb Lease
	var d store.Decision
	a.Take(time.Now(), free, pf, &la, &d)
	if !d.Allowed {
		t.Fatalf("a: %+v", d)
	}
	a.Release(&la) // kept as a spare
	// a keeps its spare busy (a sweep gives back an idle one) across the
	// restart, while its renewals (every 300 ms) find the slot gone
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var l Lease
		var d store.Decision
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			a.Take(time.Now(), free, pf, &l, &d)
			a.Release(&l)
		}
	}()
	if err := srv.restart(); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(5 * time.Second); a.Stats().LeasesLost == 0 && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	<-done
	if a.Stats().LeasesLost == 0 {
		t.Fatalf("no renewal found the slot gone: %+v", a.Stats())
	}
	a.Take(time.Now(), free, pf, &la, &d)
	if !d.Allowed {
		t.Fatalf("a, after the restart: %+v", d)
	}
	defer a.Release(&la)
	b.Take(time.Now(), free, pf, &lb, &d)
	allowed := d.Allowed
	b.Release(&lb)
	if allowed {
		t.Fatalf("cap 1, a's call in flight, yet b was admitted: a's call holds a slot Redis does not count")
	}
}

// lostReply is a hook that, once armed, lets the next take run on Redis,
// then runs between (another instance's step, say) and loses the reply:
// an ambiguous error, after which the store sends the take again.
type lostReply struct {
	armed   atomic.Bool
	op      string // "take" when ""
	between func()
}

func (h *lostReply) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *lostReply) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}

func (h *lostReply) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		args := cmd.Args()
		if len(args) < 9 || (args[0] != "evalsha" && args[0] != "eval") || args[8] != cmp.Or(h.op, "take") || !h.armed.Load() {
			return next(ctx, cmd)
		}
		if err := next(ctx, cmd); err != nil {
			return err // not run (NOSCRIPT): the next send
		}
		h.armed.Store(false)
		h.between()
		cmd.SetErr(io.ErrUnexpectedEOF)
		return io.ErrUnexpectedEOF
	}
}

// A take whose reply was lost is sent again marked as a replay, which
// finds its slot held and is not run twice. But when another instance
// stored a plan in between, the replay came back for that plan, and the
// take was sent once more as a new one: it counted its own slot against
// the cap (cap 1: refused, its slot held by no one until its lease ran
// out) and charged its credits again.
func TestTakeReplayAcrossPlanChange(t *testing.T) {
	prefix := "h51.replayplan" + time.Now().Format("150405.000000") + ":"
	ca := client(t, shared.addr())
	h := &lostReply{}
	ca.AddHook(h)
	a := newStore(t, ca, WithPrefix(prefix), WithTimeout(2*time.Second))
	b := newStore(t, client(t, shared.addr()), WithPrefix(prefix))
	p := store.Plan{Credits: 100, Window: time.Hour, Concurrency: 1}
	up := p
	up.Credits = 200
	pf := func(string) *store.Plan { return &p }
	h.between = func() {
		if err := b.SetPlan(time.Now(), "t", &up); err != nil {
			t.Error(err)
		}
	}
	h.armed.Store(true)
	var l Lease
	var d store.Decision
	a.Take(time.Now(), &store.Request{Tenant: "t", App: "x", Credits: 10}, pf, &l, &d)
	if h.armed.Load() {
		t.Fatal("the hook did not fire")
	}
	if !d.Allowed {
		t.Fatalf("the take ran and admitted, its replay says otherwise: %+v", d)
	}
	a.Release(&l)
	if d := b.Peek(time.Now(), "t", 0, pf); d.Used != 10 {
		t.Fatalf("one take of 10 admitted, the pool used %d: %+v", d.Used, d)
	}
}

// Held: SCRIPT FLUSH (NOSCRIPT) under a step that carries queued releases
// in its pipeline: the step runs once (EVAL loads the script again), the
// releases are not lost, and nothing is counted twice.
func TestScriptFlushUnderPipelinedRelease(t *testing.T) {
	c := client(t, shared.addr())
	s := newStore(t, c)
	p := store.Plan{Credits: 100, Window: time.Hour, Concurrency: 1}
	pf := func(string) *store.Plan { return &p }
	var l Lease
	var d store.Decision
	s.Take(time.Now(), &store.Request{Tenant: "t", App: "x", Credits: 1}, pf, &l, &d)
	if !d.Allowed {
		t.Fatalf("%+v", d)
	}
	s.rel.armed.Store(true) // the flusher stays asleep: the release rides with the next step
	s.Release(&l)
	if err := c.ScriptFlush(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	reloads := s.Stats().Reloads
	s.Take(time.Now(), &store.Request{Tenant: "t", App: "y", Credits: 1}, pf, &l, &d)
	if !d.Allowed || d.Used != 2 {
		t.Fatalf("after SCRIPT FLUSH: %+v", d)
	}
	s.Release(&l)
	if s.Stats().Reloads != reloads+1 {
		t.Fatalf("the script was not loaded again: %+v", s.Stats())
	}
	s.Take(time.Now(), &store.Request{Tenant: "t", App: "x", Credits: 1}, pf, &l, &d)
	if !d.Allowed || d.Used != 3 {
		t.Fatalf("x's released slot (sent in the flushed step's pipeline) is still held, or a step counted twice: %+v", d)
	}
	s.Release(&l)
}

// Held: a take that ran on Redis but whose reply came after the store's
// deadline (WithTimeout) is unavailable to its caller, and its slot, which
// no one holds, is released at once: the cap is whole again for others.
func TestTimedOutTakeReleasesItsSlot(t *testing.T) {
	prefix := "h51.slowtake" + time.Now().Format("150405.000000") + ":"
	ca := client(t, shared.addr())
	h := &lostReply{}
	ca.AddHook(h)
	a := newStore(t, ca, WithPrefix(prefix), WithTimeout(50*time.Millisecond))
	b := newStore(t, client(t, shared.addr()), WithPrefix(prefix))
	p := store.Plan{Credits: 100, Window: time.Hour, Concurrency: 1}
	pf := func(string) *store.Plan { return &p }
	h.between = func() { time.Sleep(80 * time.Millisecond) } // the reply comes past the deadline
	h.armed.Store(true)
	var l Lease
	var d store.Decision
	a.Take(time.Now(), &store.Request{Tenant: "t", App: "x", Credits: 10}, pf, &l, &d)
	if d.Allowed || d.Reason != store.ReasonUnavailable {
		t.Fatalf("a take past its deadline: %+v", d)
	}
	for end := time.Now().Add(time.Second); ; time.Sleep(5 * time.Millisecond) {
		b.Take(time.Now(), &store.Request{Tenant: "t", App: "x", Credits: 1}, pf, &l, &d)
		if d.Allowed {
			b.Release(&l)
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the timed-out take's slot is still held: %+v", d)
		}
	}
}

// Leases expire by Redis's clock. A take set and pruned deadlines at the
// windows' instant, which in server time mode is the tenant's frontier
// (the latest Redis instant its steps saw), while a renewal set them by
// Redis's clock as it is. After a failover to a replica whose clock is
// behind the old primary's (the frontier, replicated, is then ahead of the
// new clock), a renewed lease looked expired to the next take, which pruned
// it and admitted past the cap. Here the frontier is put a minute ahead,
// as such a failover leaves it.
func TestLeasesByOneClock(t *testing.T) {
	c := client(t, shared.addr())
	prefix := "h51.leaseclock" + time.Now().Format("150405.000000") + ":"
	// The lease outlives a slow renewal: with 30 ms (renewals every 10 ms)
	// a renewal delayed past 30 ms under -race on two busy CI cores let the
	// lease run out, and b was rightly admitted (CI, session 25).
	a := newStore(t, c, WithPrefix(prefix), WithLeaseTTL(900*time.Millisecond))
	b := newStore(t, c, WithPrefix(prefix))
	p := store.Plan{Credits: 100, Window: time.Hour, Concurrency: 1}
	pf := func(string) *store.Plan { return &p }
	if d := b.Charge(time.Now(), "t", 1, pf); !d.Allowed { // the tenant's keys
		t.Fatalf("%+v", d)
	}
	ctx := context.Background()
	tm, err := c.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.HSet(ctx, windowKey(a, "t"), "f", tm.Add(time.Minute).UnixMicro()).Err(); err != nil {
		t.Fatal(err)
	}
	var la, lb Lease
	var d store.Decision
	a.Take(time.Now(), &store.Request{Tenant: "t", App: "x", Credits: 1}, pf, &la, &d)
	if !d.Allowed {
		t.Fatalf("a: %+v", d)
	}
	defer a.Release(&la)
	// a renews its lease (every 300 ms): wait for the renewal to move its
	// deadline, rather than sleep a guess at it.
	s0, err := c.ZScore(ctx, la.akey, la.member).Result()
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		s, err := c.ZScore(ctx, la.akey, la.member).Result()
		if err != nil {
			t.Fatalf("a's lease is gone from Redis: %v", err)
		}
		if s != s0 {
			break
		}
		if time.Now().After(end) {
			t.Fatal("a's lease was not renewed in 5 s")
		}
	}
	b.Take(time.Now(), &store.Request{Tenant: "t", App: "x", Credits: 1}, pf, &lb, &d)
	allowed := d.Allowed
	b.Release(&lb)
	if allowed {
		t.Fatalf("cap 1, a's call in flight with its lease renewed, yet b was admitted: %+v", d)
	}
}

// A charge that ran on Redis but answered past the store's deadline was
// booked as a debt, and the debt charged again once Redis answered: the
// pool paid twice. Sent again with its step id, it finds its recorded
// result (kept WithReplayTTL) and is not run twice.
func TestTimedOutChargeNotBookedTwice(t *testing.T) {
	prefix := "h51.slowcharge" + time.Now().Format("150405.000000") + ":"
	ca := client(t, shared.addr())
	h := &lostReply{op: "charge"}
	ca.AddHook(h)
	a := newStore(t, ca, WithPrefix(prefix), WithTimeout(50*time.Millisecond), WithLeaseTTL(30*time.Millisecond))
	p := store.Plan{Credits: 100, Window: time.Hour, Concurrency: 1}
	pf := func(string) *store.Plan { return &p }
	h.between = func() { time.Sleep(80 * time.Millisecond) } // the reply comes past the deadline
	h.armed.Store(true)
	if d := a.Charge(time.Now(), "t", 10, pf); !d.Allowed || d.Cost != 10 {
		t.Fatalf("%+v", d)
	}
	if h.armed.Load() {
		t.Fatal("the hook did not fire")
	}
	for end := time.Now().Add(time.Second); a.Stats().Reconciled == 0 && time.Now().Before(end); {
		time.Sleep(5 * time.Millisecond) // the debt is booked every 10 ms
	}
	if d := a.Peek(time.Now(), "t", 0, pf); d.Used != 10 {
		t.Fatalf("one charge of 10, the pool used %d: %+v (%+v)", d.Used, d, a.Stats())
	}
}

// A spare is checked against the class's key as well as the
// application's: the class key evicted (maxmemory) or lost on its own,
// the spare's class slot is counted nowhere, and a take on it must count
// it anew, cap checked, as the renewal must report it lost.
func TestSpareCheckedInClassKey(t *testing.T) {
	c := client(t, shared.addr())
	prefix := "h51.spareclass" + time.Now().Format("150405.000000") + ":"
	a := newStore(t, c, WithPrefix(prefix), WithCreditLeasing(64))
	b := newStore(t, c, WithPrefix(prefix))
	p := store.Plan{Credits: 1000, Window: time.Hour, Concurrency: 4, SubConcurrency: map[string]int64{"k": 1}}
	pf := func(string) *store.Plan { return &p }
	var la, lb Lease
	var d store.Decision
	a.Take(time.Now(), &store.Request{Tenant: "t", App: "x", Class: "k", Credits: 1}, pf, &la, &d)
	if !d.Allowed {
		t.Fatalf("a: %+v", d)
	}
	a.Release(&la) // kept as a spare
	tn := newTenant(a.cfg.prefix, "t")
	if err := c.Del(context.Background(), tn.classKey("k")).Err(); err != nil { // evicted
		t.Fatal(err)
	}
	b.Take(time.Now(), &store.Request{Tenant: "t", App: "y", Class: "k", Credits: 1}, pf, &lb, &d)
	if !d.Allowed {
		t.Fatalf("b: %+v", d)
	}
	defer b.Release(&lb)
	// more than a's block: through Redis
	a.Take(time.Now(), &store.Request{Tenant: "t", App: "x", Class: "k", Credits: 100}, pf, &la, &d)
	allowed := d.Allowed
	a.Release(&la)
	if allowed || d.Reason != store.ReasonSubConcurrency {
		t.Fatalf("class cap 1 and b's call in flight, yet a's take on its spare: %+v", d)
	}
}
