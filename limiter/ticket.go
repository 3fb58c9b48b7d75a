package limiter

import (
	"runtime"
	"sync/atomic"
	"time"

	"github.com/creditgate/creditgate/usage"
	"github.com/creditgate/creditgate/window"
)

// Ticket is the handle of an admitted request. It is a small value: copies
// share one pooled state whose generation counter makes Release take effect
// exactly once, whichever copy calls it (a stale copy, even after the state
// was reused by a later request, is a no-op). The zero Ticket is a no-op.
type Ticket struct {
	h   *ticketHeader // two words with gen: a Ticket fits where it did before leases had types
	gen uint64
}

// ticketHeader opens every ticket state, whatever its lease type: the
// generation, the binding that knows the state's type, and what the Limiter
// keeps of the admission.
type ticketHeader struct {
	gen atomic.Uint64
	ops ticketOps
	// req is what a store reads of the request through the store
	// interface; its Tenant and App also name the settles' statistics and
	// alerts, and are kept on the memory store's path only for them (when
	// the limiter has either).
	req     Request
	dec     Decision // a store's decision through the interface, filled in place
	cost    int64    // the admission's cost (Decision.Cost)
	credits int64    // reserved so far
	// at is the admission's Unix second, and folded whether the usage
	// statistics counted the call as tenant Other's, kept with them: a
	// call's settles and refusal count in its hour and under Other if it
	// did, so that they land in the row the call went to.
	at     int64
	folded bool
}

// usageTenant is the tenant under which the usage statistics count h's
// corrections: the call's.
func (h *ticketHeader) usageTenant() string {
	if h.folded {
		return usage.Other
	}
	return h.req.Tenant
}

// ticketOps is a binding's side of its tickets; h is the header of one of
// its ticket states.
type ticketOps interface {
	release(h *ticketHeader, gen uint64) bool
	settle(h *ticketHeader, now time.Time, gen uint64, actual int64)
	reserve(h *ticketHeader, now time.Time, gen uint64, n int64) Decision
	refuse(h *ticketHeader, now time.Time, gen uint64, e usage.Event, ok bool) bool
}

// Generations step by 4: g = active, g+1 = settling (or reserving), g+2 =
// settled, g+4 = released (and the next request's active value).

// Release gives back the request's concurrency and sub-concurrency slots
// and reports true on the first Release of a ticket (or of any copy); later
// ones, and the zero ticket's, do nothing and report false. Credits are not
// given back: use Settle for that.
func (t Ticket) Release() bool {
	return t.h != nil && t.h.ops.release(t.h, t.gen)
}

// Settle turns the credits reserved at admission (Decision.Cost, plus any
// Reserve) into actual, the real cost (from the status, or a figure the
// handler reports): the difference is refunded into the admission's window
// slot, or the excess charged at now (as much as the pool has left). actual
// 0 refunds the whole reservation, e.g. when the call failed on the server
// side. Only the first Settle counts, and only before Release; it does not
// release slots. An actual above window.MaxLimit counts as window.MaxLimit.
// The usage statistics count the difference in the admission's hour, in
// the row the call went to.
func (t Ticket) Settle(now time.Time, actual int64) {
	if t.h != nil {
		t.h.ops.settle(t.h, now, t.gen, min(max(actual, 0), window.MaxLimit))
	}
}

// Reserve takes n more credits for the request at now, all or nothing, and
// reports the decision: a request admitted at a route's least price reserves
// the rest once its body has told its real price. A refusal (Allowed false,
// with the reason and RetryAfter) leaves the ticket as it was; the caller
// then usually settles to 0 and releases. Reserve before Settle and Release
// only; n <= 0 reserves nothing.
func (t Ticket) Reserve(now time.Time, n int64) Decision {
	if t.h == nil {
		return Decision{Reason: ReasonCredits, Cost: n}
	}
	return t.h.ops.reserve(t.h, now, t.gen, min(n, window.MaxLimit))
}

// Refuse undoes the admission of a request refused after all (its body
// could not be priced, or the rest of its price not reserved): it refunds
// every credit reserved and releases the slots, as Settle(now, 0) and
// Release would, and the usage statistics count a refusal instead of the
// call counted at admission, on the ticket's tenant and application and
// on req's other keys (req is the Request as acquired: its Module, IP,
// User and Method name the rows the call went to). With req nil the call
// stays a call, its credits refunded, as after Settle(now, 0). The
// statistics count the refusal in the admission's hour, as they count a
// Settle's and a Reserve's credits. It reports what Release would. After
// a Settle it only releases: the call stays a call.
func (t Ticket) Refuse(now time.Time, req *Request) bool {
	if t.h == nil {
		return false
	}
	// req's keys go by value: through the interface a pointer would make
	// every caller's Request escape to the heap.
	var e usage.Event
	if req != nil {
		e = usage.Event{Module: req.Module, IP: req.IP, User: req.User, Method: req.Method}
	}
	return t.h.ops.refuse(t.h, now, t.gen, e, req != nil)
}

// refuse is Ticket.Refuse; e holds the request's keys but its tenant and
// application (ok: there is a request).
func (b *binding[L]) refuse(h *ticketHeader, now time.Time, gen uint64, e usage.Event, ok bool) bool {
	st := state[L](h)
	if claim(&st.gen, gen) {
		if st.credits != 0 {
			d := b.s.Settle(now, &st.lease, -st.credits, false)
			b.l.stepped(now, h.req.Tenant, &d)
		}
		if u := b.l.usage; u != nil {
			// The admission recorded its decision's cost on every key;
			// a granted Reserve settled more by application only.
			more := st.credits - h.cost
			if !ok {
				more = st.credits // the call stays, with no credits
			}
			at := time.Unix(h.at, 0) // the call's hour: see ticketHeader.at
			if more != 0 {
				u.SettleIn(h.buf(), at, h.usageTenant(), h.req.App, -more)
			}
			if ok {
				e.At, e.Tenant, e.App, e.Credits = at, h.usageTenant(), h.req.App, h.cost
				u.RefuseIn(h.buf(), &e)
			}
		}
		st.credits = 0
		st.gen.Store(gen + 2)
	}
	return b.release(h, gen)
}

func (b *binding[L]) release(h *ticketHeader, gen uint64) bool {
	if !h.claimRelease(gen) {
		return false
	}
	b.s.Release(&state[L](h).lease)
	// The lease is not cleared: the next Take overwrites it.
	b.l.pool.put(h)
	return true
}

// claimRelease moves h's state from active or settled to released, waiting
// while a Settle or Reserve runs on a copy; false if a copy released it.
// The active ticket's release, the usual one, is one swap inlined in the
// caller; the loop is for the rest.
func (h *ticketHeader) claimRelease(gen uint64) bool {
	return h.gen.CompareAndSwap(gen, gen+4) || h.claimReleaseWait(gen)
}

// claimReleaseWait is claimRelease past a failed swap of an active ticket.
func (h *ticketHeader) claimReleaseWait(gen uint64) bool {
	for g := h.gen.Load(); ; g = h.gen.Load() {
		switch g {
		case gen, gen + 2: // active or settled
			if h.gen.CompareAndSwap(g, gen+4) {
				return true
			}
		case gen + 1: // a Settle or Reserve is running on a copy: let it finish
			runtime.Gosched()
		default:
			return false // released already, by a copy
		}
	}
}

func (b *binding[L]) settle(h *ticketHeader, now time.Time, gen uint64, actual int64) {
	st := state[L](h)
	if !claim(&st.gen, gen) {
		return
	}
	if delta := actual - st.credits; delta != 0 {
		d := b.s.Settle(now, &st.lease, delta, false)
		b.l.settled(now, h, &d, delta)
		st.credits = actual
	}
	st.gen.Store(gen + 2)
}

func (b *binding[L]) reserve(h *ticketHeader, now time.Time, gen uint64, n int64) Decision {
	st := state[L](h)
	if n <= 0 {
		return Decision{Allowed: true}
	}
	if !claim(&st.gen, gen) {
		return Decision{Reason: ReasonCredits, Cost: n}
	}
	d := b.s.Settle(now, &st.lease, n, true)
	if d.Allowed {
		b.l.settled(now, h, &d, d.Cost)
		st.credits += d.Cost
	}
	st.gen.Store(gen)
	return d
}

// claim moves a ticket state from active (gen) to settling (gen+1) for a
// Settle or Reserve, waiting while one runs on a copy (as release does);
// false if the ticket was settled or released meanwhile.
func claim(g *atomic.Uint64, gen uint64) bool {
	for !g.CompareAndSwap(gen, gen+1) {
		switch g.Load() {
		case gen: // it just finished: try again
		case gen + 1:
			runtime.Gosched()
		default:
			return false
		}
	}
	return true
}

// settled reports a settle's step to the usage statistics (the call's cost
// moved by delta, by application, in the call's hour) and the alerts.
func (l *Limiter) settled(now time.Time, h *ticketHeader, d *Decision, delta int64) {
	if l.usage != nil {
		l.usage.SettleIn(h.buf(), time.Unix(h.at, 0), h.usageTenant(), h.req.App, delta)
	}
	l.stepped(now, h.req.Tenant, d)
}
