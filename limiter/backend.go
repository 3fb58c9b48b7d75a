package limiter

import (
	"sync"
	"time"
	"unsafe"

	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/usage"
)

// backend is a store bound to its lease type: what the Limiter calls.
type backend interface {
	// acquire takes the request and returns the decision by value: pointers
	// through an interface call escape, and would cost two allocations.
	acquire(now time.Time, req Request) (Ticket, Decision)
	peek(now time.Time, tenant string, n int64) Decision
	charge(now time.Time, tenant string, n int64) Decision
	setPlan(now time.Time, tenant string, p *Plan) error
	store() any
}

// binding is a Limiter's store with its lease type L, and the pool of
// ticket states that hold its leases.
type binding[L any] struct {
	l    *Limiter
	s    store.Store[L]
	pool sync.Pool // *ticketState[L]
}

func newBinding[L any](l *Limiter, s store.Store[L]) *binding[L] {
	b := &binding[L]{l: l, s: s}
	b.pool.New = func() any { return &ticketState[L]{ticketHeader: ticketHeader{ops: b}, b: b} }
	return b
}

// ticketState is an admitted request's state, pooled (per P) and shared by
// the copies of its Ticket; its generation makes Release and Settle take
// effect once (see Ticket).
type ticketState[L any] struct {
	ticketHeader
	b       *binding[L]
	lease   L
	req     Request  // the request being admitted, on the heap for the store's pointer
	dec     Decision // the store's decision, likewise
	credits int64    // reserved so far
	tenant  string
	app     string
	// Two cores' states never share a cache line: states are allocated where
	// the first calls ran, and each admission writes its own.
	_ [64]byte
}

func (b *binding[L]) acquire(now time.Time, rq Request) (Ticket, Decision) {
	st := b.pool.Get().(*ticketState[L])
	st.req = rq
	req, d := &st.req, &st.dec
	b.s.Take(now, req, b.l.planFor, &st.lease, d)
	l := b.l
	if l.usage != nil {
		l.usage.RecordIn(st.buf(), &usage.Event{At: now, Tenant: req.Tenant, App: req.App, Module: req.Module,
			IP: req.IP, User: req.User, Method: req.Method, Credits: d.Cost, Refused: !d.Allowed})
	}
	if !d.Allowed {
		dec := *d
		b.pool.Put(st)
		return Ticket{}, dec
	}
	if l.alerts != nil {
		l.alerts.check(now, req.Tenant, d)
	}
	st.credits, st.tenant, st.app = d.Cost, req.Tenant, req.App
	return Ticket{h: &st.ticketHeader, gen: st.gen.Load()}, *d
}

// buf is the usage buffer of st's events: states are pooled per P, so one
// tenant's requests on different cores record into different buffers,
// while a request's decision and its settle share one and stay in order.
func (st *ticketState[L]) buf() uint64 {
	return uint64(uintptr(unsafe.Pointer(st))>>6) * 0x9e3779b97f4a7c15
}

func (b *binding[L]) peek(now time.Time, tenant string, n int64) Decision {
	return b.s.Peek(now, tenant, n, b.l.planFor)
}

func (b *binding[L]) charge(now time.Time, tenant string, n int64) Decision {
	return b.s.Charge(now, tenant, n, b.l.planFor)
}

func (b *binding[L]) setPlan(now time.Time, tenant string, p *Plan) error {
	return b.s.SetPlan(now, tenant, p)
}

func (b *binding[L]) store() any { return b.s }

// stepped reports a step that changed tenant's pool (an admission, a settle,
// a charge) to the alerts.
func (l *Limiter) stepped(now time.Time, tenant string, d *Decision) {
	if l.alerts != nil && d.Allowed && d.Cost > 0 {
		l.alerts.check(now, tenant, d)
	}
}
