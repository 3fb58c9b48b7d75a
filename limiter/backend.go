package limiter

import (
	"time"
	"unsafe"

	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/store/memory"
	"github.com/creditgate/creditgate/usage"
)

// backend is a store bound to its lease type: what the Limiter calls. Its
// hot methods take ticket states, which are on the heap: pointers to the
// caller's stack through an interface call would escape and allocate, and
// copying the request and the decision through the call by value cost more
// than the rest of an admission's bookkeeping.
type backend interface {
	newState() *ticketHeader // a ticket state with room for a lease
	take(now time.Time, h *ticketHeader)
	ticketOps
	peek(now time.Time, tenant string, n int64) Decision
	charge(now time.Time, tenant string, n int64) Decision
	setPlan(now time.Time, tenant string, p *Plan) error
	store() any
}

// binding is a Limiter's store with its lease type L.
type binding[L any] struct {
	l *Limiter
	s store.Store[L]
}

func newBinding[L any](l *Limiter, s store.Store[L]) *binding[L] { return &binding[L]{l: l, s: s} }

// ticketState is an admitted request's state: the header, which the
// Limiter fills and reads, and the store's lease. States are pooled (per P)
// and shared by the copies of a Ticket; the generation makes Release and
// Settle take effect once (see Ticket).
type ticketState[L any] struct {
	ticketHeader
	lease L
	// Two cores' states never share a cache line: states are allocated where
	// the first calls ran, and each admission writes its own.
	_ [64]byte
}

func (b *binding[L]) newState() *ticketHeader {
	st := &ticketState[L]{}
	st.ops = b
	return &st.ticketHeader
}

// state is the ticket state h opens.
func state[L any](h *ticketHeader) *ticketState[L] {
	return (*ticketState[L])(unsafe.Pointer(h)) // the header is its first field
}

func (b *binding[L]) take(now time.Time, h *ticketHeader) {
	b.s.Take(now, &h.req, b.l.planFor, &state[L](h).lease, &h.dec)
}

// acquire admits req on a pooled ticket state (see Limiter.Acquire).
func (l *Limiter) acquire(now time.Time, req *Request, d *Decision) Ticket {
	h := l.pool.take(procPin()) // see take
	procUnpin()
	if h == nil {
		h = l.pool.getSpare()
	}
	if m, u := l.mem, l.usage; m != nil && u == nil {
		// The memory store, called directly, reads the caller's request and
		// writes the caller's decision: neither escapes that call, and
		// nothing is copied. The ticket keeps the two names its settles
		// report to the alerts, if they are on.
		m.Take(now, req, l.planFor, &state[memory.Lease](h).lease, d)
		if l.alerts != nil {
			h.req.Tenant, h.req.App = req.Tenant, req.App
		}
	} else if m != nil {
		// The same with the usage statistics on, begun before the store
		// decides: their loads then wait on memory while the store's
		// lookup of the tenant does (see usage.Recording).
		h.req.Tenant, h.req.App, h.at = req.Tenant, req.App, now.Unix() // for the settles' statistics
		rec := u.Begin(h.buf(), h.at, req)
		m.Take(now, req, l.planFor, &state[memory.Lease](h).lease, d)
		h.folded = u.Finish(rec, req, d.Cost, !d.Allowed)
	} else {
		l.takeVia(now, req, h, d)
	}
	if !d.Allowed {
		l.pool.put(h)
		return Ticket{}
	}
	if l.alerts != nil {
		l.alerts.check(now, req.Tenant, d)
	}
	h.credits, h.cost = d.Cost, d.Cost
	return Ticket{h: h, gen: h.gen.Load()}
}

// takeVia is acquire's decision through the store interface, and its
// record in the usage statistics if they are on.
func (l *Limiter) takeVia(now time.Time, req *Request, h *ticketHeader, d *Decision) {
	var rec usage.Recording
	u := l.usage
	if u != nil {
		h.at = now.Unix()
		rec = u.Begin(h.buf(), h.at, req)
	}
	// Through the store interface both would escape (an allocation per
	// call): the store reads and writes the ticket's copies. What a store
	// reads (see store.Request): the statistics' keys stay in the caller's
	// req, which nothing after this call keeps.
	h.req.Tenant, h.req.App, h.req.Class, h.req.Credits, h.req.Keep, h.req.Units = req.Tenant, req.App, req.Class, req.Credits, req.Keep, req.Units
	l.be.take(now, h)
	// Field by field: the store has just written h.dec with narrow stores,
	// which a block copy's wide loads would wait on (store forwarding).
	x := &h.dec
	d.Allowed, d.Reason, d.Cost, d.Limit, d.Remaining = x.Allowed, x.Reason, x.Cost, x.Limit, x.Remaining
	d.Used, d.Reset, d.Window, d.RetryAfter = x.Used, x.Reset, x.Window, x.RetryAfter
	d.AddOns, d.Cap, d.Exceeds = x.AddOns, x.Cap, x.Exceeds
	if u != nil {
		h.folded = u.Finish(rec, req, d.Cost, !d.Allowed)
	}
}

// buf is the usage buffer of h's events: states are pooled per P, so one
// tenant's requests on different cores record into different buffers,
// while a request's decision and its settle share one and stay in order.
func (h *ticketHeader) buf() uint64 {
	return uint64(uintptr(unsafe.Pointer(h))>>6) * 0x9e3779b97f4a7c15
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
