package limiter

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// ErrNilStore is returned by New for WithStore(nil).
var ErrNilStore = errors.New("limiter: nil store")

// Limiter admits requests for keyed tenants (the pool owners) and their
// applications: Acquire takes, all or nothing, one concurrency slot of the
// application, one sub-concurrency slot of the request's API class and the
// request's credits from the tenant's rolling window, and returns a Ticket to
// release the slots (and settle the real cost) with.
//
// Every tenant gets the plan given to New unless WithPlanFor or SetPlan says
// otherwise. State lives in a Store, in memory by default. Time comes in as
// now, so tests and replays are deterministic. Safe for concurrent use; the
// hot path (Acquire, Release) does not allocate once a tenant exists.
// A Limiter must be made by New (the zero value has no store and panics).
// With WithUsage or WithAlerts it runs a goroutine: call Close. Now runs one
// too, but only while it is being read (it exits when idle); Close stops it.
type Limiter struct {
	store   Store
	mem     *MemoryStore // store, if it is the in-memory one: called directly
	def     *Plan
	planFor func(string) *Plan // bound once in New: a method value would allocate per call

	mu        sync.RWMutex // protects overrides
	overrides map[string]*Plan
	setMu     sync.Mutex // serialises SetPlanAt: the overrides and the store change in one order
	custom    func(tenant string) Plan

	usage  *Usage
	runs   atomic.Bool // usage counted in the in-memory store's tenants (see usageRun); cleared by Close
	alerts *alerter
	clock  *coarseClock

	stopUsage chan struct{} // closed by Close; nil without usage
	usageDone chan struct{}
	closeOnce sync.Once
}

// Option configures New.
type Option interface{ apply(*config) }

type config struct {
	store     Store
	storeSet  bool
	storeOpts []StoreOption
	planFor   func(string) Plan
	usage     *Usage
	thresh    []int
	alertFn   func(Alert)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithMaxTenants bounds the tenants the in-memory store holds (see MemoryStore).
func WithMaxTenants(n int) Option {
	return optionFunc(func(c *config) { c.storeOpts = append(c.storeOpts, StoreMaxTenants(n)) })
}

// WithIdleAfter sets how long a tenant must be unused before it can be evicted.
func WithIdleAfter(d time.Duration) Option {
	return optionFunc(func(c *config) { c.storeOpts = append(c.storeOpts, StoreIdleAfter(d)) })
}

// WithSlots sets the slot count of the in-memory rolling windows.
func WithSlots(n int) Option {
	return optionFunc(func(c *config) { c.storeOpts = append(c.storeOpts, StoreSlots(n)) })
}

// WithStore replaces the in-memory store (the other store options then do nothing).
func WithStore(s Store) Option {
	return optionFunc(func(c *config) { c.store, c.storeSet = s, true })
}

// WithPlanFor gives each tenant its plan when the store first sees it (and
// again after eviction). SetPlan overrides it. Plans it returns are validated
// then; an invalid one falls back to New's plan.
func WithPlanFor(f func(tenant string) Plan) Option {
	return optionFunc(func(c *config) { c.planFor = f })
}

// WithUsage records every decision into u.
func WithUsage(u *Usage) Option { return optionFunc(func(c *config) { c.usage = u }) }

// WithAlerts calls fn when a tenant's usage crosses one of the thresholds
// (percent of the pool, 1 to 100: usage never exceeds the pool, so New
// refuses a higher one with ErrThresholds; nil = 80, 90, 100): once per
// crossing, not once per request. Usage is Decision.Limit -
// Decision.Remaining after each admission or settle, so for a compound plan
// it reflects the tightest window. A threshold fires when an admission or a
// settle finds usage at or above it, unless it fired and usage has not been
// seen below it since, either by an admission or settle that reports less
// (after a refund, say) or by one whose own change started below it (after
// the window gave credits back unseen).
//
// Concurrent admissions' and settles' checks may run in any order. Each is
// applied only if the tenant's alert state did not change while its
// admission or settle was in flight (the state is loaded before the pool is
// read; for an admission through a Store whose Take is not the MemoryStore's,
// when Take returns); otherwise it is dropped as possibly stale, so a stale
// report never re-arms a threshold nor fires one twice for a crossing. A
// fire so dropped comes with a later admission; a re-arm so dropped is lost,
// and the rise after it goes unreported. A settle, a
// compound plan, or an admission that moves the window on reads the pool
// just after its change rather than with it; another change landing in
// between can then still make a crossing be reported twice or missed.
//
// fn runs on a goroutine of its own, never inside Acquire; Close stops it.
// Alerts beyond a queue of 1024 are dropped and counted.
func WithAlerts(thresholds []int, fn func(Alert)) Option {
	return optionFunc(func(c *config) { c.thresh, c.alertFn = thresholds, fn })
}

// New returns a Limiter whose tenants get plan p by default.
func New(p Plan, opts ...Option) (*Limiter, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var c config
	for _, o := range opts {
		o.apply(&c)
	}
	if c.storeSet && c.store == nil {
		return nil, ErrNilStore
	}
	def := clonePlan(p)
	l := &Limiter{def: &def, custom: c.planFor, usage: c.usage, overrides: map[string]*Plan{}, clock: newCoarseClock()}
	l.planFor = l.resolve
	l.store = c.store
	if l.store == nil {
		l.store = NewMemoryStore(c.storeOpts...)
	}
	l.mem, _ = l.store.(*MemoryStore)
	if l.mem != nil && l.usage != nil && l.mem.claimRuns(l.usage) {
		l.runs.Store(true)
	}
	if l.usage != nil {
		l.stopUsage, l.usageDone = make(chan struct{}), make(chan struct{})
		go func() {
			defer close(l.usageDone)
			l.usage.drain(l.stopUsage)
		}()
	}
	if c.alertFn != nil {
		a, err := newAlerter(c.thresh, c.alertFn, 1024)
		if err != nil {
			return nil, err
		}
		l.alerts = a
	}
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
			c = clonePlan(c)
			return &c
		}
	}
	return l.def
}

// Acquire admits req at now, all or nothing (see Limiter). An admitted
// request's Ticket must be released when the call ends (its slots are held
// until then); when the decision refuses, the Ticket is the zero no-op ticket
// and nothing was taken. A negative Credits counts as 0.
func (l *Limiter) Acquire(now time.Time, req Request) (t Ticket, d Decision) {
	// Small enough to inline: the request and the decision then stay in the
	// caller's frame, passed by pointer, instead of being copied in and out
	// (15 and 11 words, too many for registers).
	t = l.acquire(now, &req, &d)
	return t, d
}

func (l *Limiter) acquire(now time.Time, req *Request, d *Decision) Ticket {
	req.Credits = max(req.Credits, 0) // a negative cost would mint credits at Settle
	st := ticketPool.Get().(*ticketState)
	var alerts *AlertState
	var seen uint64 // the alert state before the pool was read (see alerter.check)
	if l.mem != nil {
		seen = l.mem.take(now, req, l.planFor, &st.ml, d, l.alerts != nil) // straight into the result
		if d.Allowed {
			alerts = &st.ml.t.alerts
		}
	} else {
		st.lease.alertsSeen = 0 // the pooled lease may hold another's; a Store elsewhere leaves it
		*d = l.store.Take(now, *req, l.planFor, &st.lease)
		alerts, seen = st.lease.Alerts, st.lease.alertsSeen
	}
	if l.usage != nil && !(d.Allowed && l.runs.Load() && st.ml.countRun(l.usage, &l.runs, req)) {
		l.usage.record(l.usageShard(st, req.Tenant), now, req.Tenant, req.App, req.Module, req.IP, req.User, req.Method, req.Credits, !d.Allowed)
	}
	if !d.Allowed {
		ticketPool.Put(st)
		return Ticket{}
	}
	if l.alerts != nil && alerts != nil {
		l.alerts.check(now, alerts, seen, req.Tenant, d.Limit, d.Remaining, req.Credits)
	}
	st.l = l
	return Ticket{st: st, gen: st.gen.Load()}
}

// Now is the limiter's clock: the wall time to a millisecond, read with one
// atomic load where time.Now can cost as much as an admission (a virtual
// machine's clock source makes it a 50 ns call). A goroutine refreshes it
// every millisecond while it is read and exits after a few idle
// milliseconds; Close stops it for good (Now then returns time.Now). A
// reading lags the wall clock by at most a millisecond plus the goroutine's
// scheduling delay, which the windows' minutes-wide slots and the headers'
// seconds do not see. Acquire(l.Now(), req) is the usual call.
func (l *Limiter) Now() time.Time { return l.clock.now() }

// usageShard picks the usage shard of a request's events: from its tenant
// (the in-memory store's hash, else the recorder's own) and its ticket
// state. States are pooled per P, so one tenant's requests on different
// cores record into different shards instead of queueing on one shard's
// lock, while a request's decision and its settle share a shard and stay in
// order. Between requests there is no order to keep: concurrent requests
// have none, and the recorder folds its tail by size, not by arrival.
func (l *Limiter) usageShard(st *ticketState, tenant string) uint64 {
	h := st.ml.hash
	if l.mem == nil {
		h = maphash.String(l.usage.seed, tenant)
	}
	return h ^ uint64(uintptr(unsafe.Pointer(st))>>6)*0x9e3779b97f4a7c15
}

// Peek reports a tenant's limit, remaining credits and reset time without
// spending or creating anything.
func (l *Limiter) Peek(now time.Time, tenant string) Decision {
	return l.store.Peek(now, tenant, l.planFor)
}

// SetPlan changes a tenant's plan at run time (upgrade, add-on credits): the
// pool's size and the slot caps change, what is spent and held carries over.
// A new window length or new extra windows give the tenant new windows, into
// which what was spent carries over at the times it was spent; admissions
// racing with that copy are counted (twice at worst, while it runs).
func (l *Limiter) SetPlan(tenant string, p Plan) error { return l.SetPlanAt(time.Now(), tenant, p) }

// SetPlanAt is SetPlan at a given time (used when the window length changes).
func (l *Limiter) SetPlanAt(now time.Time, tenant string, p Plan) error {
	if err := p.Validate(); err != nil {
		return err
	}
	c := clonePlan(p)
	l.setMu.Lock()
	defer l.setMu.Unlock()
	l.mu.Lock()
	l.overrides[tenant] = &c // first: a tenant made meanwhile gets c (see MemoryStore.create)
	l.mu.Unlock()
	return l.store.SetPlan(now, tenant, &c)
}

// Plan returns the plan tenant has (a copy).
func (l *Limiter) Plan(tenant string) Plan { return clonePlan(*l.resolve(tenant)) }

// UsesCallers reports whether Acquire reads Request.User and Request.IP:
// the usage statistics do, and so may a Store other than the in-memory one,
// which ignores them. A caller that pays to compute them (parsing a client
// address, say) can skip that when it reports false; it does not change
// for the Limiter's life.
func (l *Limiter) UsesCallers() bool { return l.usage != nil || l.mem == nil }

// Usage returns the statistics recorder, nil if not recording.
func (l *Limiter) Usage() *Usage { return l.usage }

// Store returns the store the limiter keeps its state in.
func (l *Limiter) Store() Store { return l.store }

// Close stops the goroutines the Limiter started (the alert deliverer, which
// first delivers the alerts queued so far, the usage aggregator and Now's
// ticker) and waits for them or for ctx. Statistics recorded afterwards are
// still aggregated, by queries. Close is idempotent.
func (l *Limiter) Close(ctx context.Context) error {
	l.closeOnce.Do(func() {
		if l.runs.Swap(false) { // later calls record into the buffers
			l.mem.flushRuns(l.usage)
			l.usage.removeSource(l.mem)
		}
		if l.stopUsage != nil {
			close(l.stopUsage)
		}
	})
	select {
	case <-l.clock.close():
	case <-ctx.Done():
		return ctx.Err()
	}
	if l.usageDone != nil {
		select {
		case <-l.usageDone:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if l.alerts == nil {
		return nil
	}
	return l.alerts.close(ctx)
}
