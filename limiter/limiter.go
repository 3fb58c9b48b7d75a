package limiter

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/store/memory"
	"github.com/creditgate/creditgate/usage"
)

// ErrNilStore is returned by New for WithStore(nil).
var ErrNilStore = errors.New("limiter: nil store")

// Limiter admits requests for keyed tenants and their applications: Acquire
// takes, all or nothing, one concurrency slot of the application, one
// sub-concurrency slot of the request's API class and the request's credits
// from every window of the tenant's plan, and returns a Ticket to release
// the slots (and settle the real cost) with.
//
// Every tenant gets the plan given to New unless WithPlanFor or SetPlan says
// otherwise. State lives in a store, in memory by default (WithStore). Time
// comes in as now, so tests and replays are deterministic; Now is a cheap
// clock for live traffic. Safe for concurrent use; Acquire and Release do
// not allocate once a tenant exists. A Limiter must be made by New. With
// WithAlerts it runs a goroutine, and Now runs one while it is read: call
// Close.
type Limiter struct {
	be      backend
	mem     *memory.Store // be's store if it is a *memory.Store: acquire calls it directly
	def     *Plan
	planFor store.PlanFunc // bound once in New: a method value would allocate per call

	mu        sync.RWMutex // protects overrides
	overrides map[string]*Plan
	interned  planSet    // WithPlanFor's answers, one *Plan per distinct plan
	setMu     sync.Mutex // serialises SetPlanAt: the overrides and the store change in one order
	custom    func(tenant string) Plan
	// addOns is set, for good, once a plan with add-on credits is given or
	// resolved: until then AddOns answers 0 with no lookup.
	addOns atomic.Bool

	usage  *usage.Stats
	alerts *alerter
	clock  *coarseClock
	pool   statePool // be's ticket states
}

// Option configures New.
type Option interface{ apply(*config) }

type config struct {
	bind    func(*Limiter) backend // set by WithStore
	nilSet  bool                   // WithStore(nil)
	planFor func(string) Plan
	usage   *usage.Stats
	thresh  []int
	alertFn func(Alert)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithStore keeps the limiter's state in s instead of a new in-memory store
// (memory.New()): a memory store with options of its own, or a shared one.
func WithStore[L any](s store.Store[L]) Option {
	return optionFunc(func(c *config) {
		if s == nil {
			c.nilSet = true
			return
		}
		c.bind = func(l *Limiter) backend { return newBinding(l, s) }
	})
}

// WithPlanFor gives each tenant its plan when the store first sees it (and
// again after eviction). SetPlan overrides it. Plans it returns are
// validated then; an invalid one falls back to New's plan.
func WithPlanFor(f func(tenant string) Plan) Option {
	return optionFunc(func(c *config) { c.planFor = f })
}

// WithUsage records every decision, and every settled difference, into u.
func WithUsage(u *usage.Stats) Option { return optionFunc(func(c *config) { c.usage = u }) }

// New returns a Limiter whose tenants get plan p by default.
func New(p Plan, opts ...Option) (*Limiter, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var c config
	for _, o := range opts {
		o.apply(&c)
	}
	if c.nilSet {
		return nil, ErrNilStore
	}
	def := p.Clone()
	l := &Limiter{def: &def, custom: c.planFor, usage: c.usage, overrides: map[string]*Plan{}}
	l.planFor = l.resolve
	l.noteAddOns(&def)
	if c.alertFn != nil {
		a, err := newAlerter(c.thresh, c.alertFn, 1024)
		if err != nil {
			return nil, err
		}
		l.alerts = a
	}
	if c.bind == nil {
		c.bind = func(l *Limiter) backend { return newBinding[memory.Lease](l, memory.New()) }
	}
	l.be = c.bind(l)
	if mb := bindMemory(l.be); mb != nil {
		l.be, l.mem = mb, mb.m
	}
	l.pool.init(l.be.newState)
	l.clock = newCoarseClock()
	return l, nil
}

func (l *Limiter) resolve(tenant string) *Plan {
	l.mu.RLock()
	p := l.overrides[tenant]
	l.mu.RUnlock()
	if p != nil {
		return p
	}
	if l.custom != nil {
		if c := l.custom(tenant); c.Validate() == nil {
			l.noteAddOns(&c)
			return l.interned.get(c)
		}
	}
	return l.def
}

// noteAddOns sets l.addOns if p has add-on credits (a read first: resolve
// runs per step over some stores, and a write would bounce the line).
func (l *Limiter) noteAddOns(p *Plan) {
	if p.AddOns > 0 && !l.addOns.Load() {
		l.addOns.Store(true)
	}
}

// Acquire admits req at now, all or nothing (see Limiter). An admitted
// request's Ticket must be released when the call ends (its slots are held
// until then); when the decision refuses, the Ticket is the zero no-op
// ticket and nothing was taken. A negative Credits counts as 0.
func (l *Limiter) Acquire(now time.Time, req Request) (t Ticket, d Decision) {
	// Small enough to inline: the request and the decision then stay in the
	// caller's frame, passed by pointer, instead of being copied in and out.
	t = l.acquire(now, &req, &d)
	return t, d
}

// AcquireTo is Acquire for a hot path: it reads the request through req and
// writes the decision to *d, where Acquire's values cost a copy of each
// (about 100 bytes apiece, in and out) that a processor cannot forward
// from the narrower stores that just wrote them, several nanoseconds a call.
// req is only read, and only during the call; *d is overwritten whole.
func (l *Limiter) AcquireTo(now time.Time, req *Request, d *Decision) Ticket {
	return l.acquire(now, req, d)
}

// Now is the limiter's clock: the wall time to a millisecond, read with one
// atomic load where time.Now can cost as much as an admission (a virtual
// machine's clock source makes it a 50 ns call). A goroutine refreshes it
// every millisecond while it is read and exits after a few idle
// milliseconds; Close stops it for good (Now then returns time.Now).
// Acquire(l.Now(), req) is the usual call.
func (l *Limiter) Now() time.Time { return l.clock.now() }

// Peek reports a tenant's limit, remaining credits and reset time without
// spending or creating anything. It is PeekN(now, tenant, 0).
func (l *Limiter) Peek(now time.Time, tenant string) Decision { return l.PeekN(now, tenant, 0) }

// PeekN is Peek whose RetryAfter says how long until n credits are
// available, if nothing else is spent meanwhile (0 if they are now).
func (l *Limiter) PeekN(now time.Time, tenant string, n int64) Decision {
	return l.be.peek(now, tenant, n)
}

// Charge takes up to n credits from tenant's pool at now, with no slots and
// no ticket: spending made outside this limiter that a caller learned of
// (the server's headers said the pool holds less than this limiter spent).
// Alerts see it like any other spend.
func (l *Limiter) Charge(now time.Time, tenant string, n int64) Decision {
	d := l.be.charge(now, tenant, n)
	l.stepped(now, tenant, &d)
	return d
}

// SetPlan changes a tenant's plan at run time (upgrade, add-on credits): the
// pool's size and the slot caps change, what is spent and held carries over.
// Other window changes give the tenant new windows, into which what was
// spent carries over at the times it was spent.
func (l *Limiter) SetPlan(tenant string, p Plan) error { return l.SetPlanAt(time.Now(), tenant, p) }

// SetPlanAt is SetPlan at a given time.
func (l *Limiter) SetPlanAt(now time.Time, tenant string, p Plan) error {
	if err := p.Validate(); err != nil {
		return err
	}
	c := p.Clone()
	l.noteAddOns(&c)
	l.setMu.Lock()
	defer l.setMu.Unlock()
	l.mu.Lock()
	l.overrides[tenant] = &c // first: a tenant made meanwhile gets c (see store.Store.SetPlan)
	l.mu.Unlock()
	return l.be.setPlan(now, tenant, &c)
}

// Plan returns the plan tenant has (a copy).
func (l *Limiter) Plan(tenant string) Plan { return l.resolve(tenant).Clone() }

// PlanOf returns the plan tenant has, as Plan does, but shared rather than
// copied, for a caller that must not allocate. It must not be changed. It
// is the plan the limiter resolves now, which a held tenant's store may
// not enforce yet (a WithPlanFor whose answer changed, until ReplanAt): a
// caller deciding about a request reads the figures of the plan the store
// decided under from the request's Decision (AddOns, Cap, Exceeds).
func (l *Limiter) PlanOf(tenant string) *Plan { return l.resolve(tenant) }

// AddOns returns the add-on credits of the plan the limiter resolves for
// tenant now (Plan.AddOns). While no plan the limiter was given or
// resolved has any, it returns 0 with no lookup. As for PlanOf, a caller
// deciding about a request reads the Decision's AddOns instead: those of
// the plan the store decided under.
func (l *Limiter) AddOns(tenant string) int64 {
	if !l.addOns.Load() {
		return 0
	}
	return l.resolve(tenant).AddOns
}

// UsesCallers reports whether Acquire reads Request.User, IP, Module and
// Method: only the usage statistics do. A caller that pays to compute them
// (parsing a client address, say) can skip that when it reports false.
func (l *Limiter) UsesCallers() bool { return l.usage != nil }

// Usage returns the statistics recorder, nil if not recording.
func (l *Limiter) Usage() *usage.Stats { return l.usage }

// Store returns the store the limiter keeps its state in (a store.Store of
// some lease type; assert the optional capabilities on it).
func (l *Limiter) Store() any { return l.be.store() }

// Close stops the goroutines the Limiter started (the alert deliverer,
// which first delivers the alerts queued so far, and Now's ticker) and
// waits for them or for ctx. It does not close the store nor the usage
// statistics, which the caller made. Close is idempotent.
func (l *Limiter) Close(ctx context.Context) error {
	clock := l.clock.close()
	var err error
	if l.alerts != nil {
		err = l.alerts.close(ctx) // tells the deliverer to stop before it waits: a done ctx only cuts the wait
	}
	select {
	case <-clock:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ReplanAt gives tenant, if the store holds it, the plan the limiter
// resolves for it now (SetPlan's, else WithPlanFor's answer, else the
// default), keeping what it spent and holds as SetPlan does, and records
// nothing per tenant. It is for a WithPlanFor whose answers have changed (a
// reloaded configuration): held tenants keep the plan they were made with
// until then, and tenants made later ask WithPlanFor themselves. SetPlanAt
// instead keeps the plan it is given for the tenant for good.
func (l *Limiter) ReplanAt(now time.Time, tenant string) error {
	l.setMu.Lock()
	defer l.setMu.Unlock()
	return l.be.setPlan(now, tenant, l.resolve(tenant))
}
