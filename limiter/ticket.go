package limiter

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creditgate/creditgate/window"
)

// Ticket is the handle of an admitted request. It is a small value: copies
// share one pooled state whose generation counter makes Release take effect
// exactly once, whichever copy calls it (a stale copy, even after the state
// was reused by a later request, is a no-op). The zero Ticket is a no-op.
//
// Generations step by 4: g = active, g+1 = settling, g+2 = settled,
// g+4 = released (and the next request's active value).
type Ticket struct {
	st  *ticketState
	gen uint64
}

// ticketState is exactly 256 bytes, a size class whose objects are 64-byte
// aligned, so that two cores' states (pooled per P, but allocated where the
// first calls ran) never share a cache line: at 232 bytes, in the 240-byte
// class, neighbours did, and each admission's writes to its state moved a
// line between the cores (100,000 tenants on two cores: 145 ns against 85).
type ticketState struct {
	gen   atomic.Uint64
	l     *Limiter
	lease Lease    // when l has a Store other than its MemoryStore
	ml    memLease // when l.mem is set
	_     [16]byte // to 256 bytes (TestTicketStateSize)
}

var ticketPool = sync.Pool{New: func() any { return new(ticketState) }}

// Release gives back the request's concurrency and sub-concurrency slots. Only
// the first Release of a ticket (or of any copy) does anything. Credits are not
// given back: use Settle for that.
func (t Ticket) Release() {
	st := t.st
	if st == nil {
		return
	}
	for {
		g := st.gen.Load()
		switch g {
		case t.gen, t.gen + 2:
		case t.gen + 1: // a Settle is running on a copy: let it finish
			runtime.Gosched()
			continue
		default:
			return
		}
		if st.gen.CompareAndSwap(g, t.gen+4) {
			break
		}
	}
	if st.l.mem != nil {
		st.ml.release()
	} else {
		st.l.store.Release(&st.lease)
	}
	// The lease is not cleared: the next Take overwrites it whole, and
	// clearing 100 bytes per call showed in profiles. Its strings stay
	// reachable while the state sits in the pool, which is bounded.
	ticketPool.Put(st)
}

// Settle reserves-and-settles: the request reserved Decision.Cost credits at
// admission; actual is what it really cost (from the status, or a figure the
// handler reports). The difference is refunded into the admission's window
// slot, or the excess charged at now (never below zero). actual 0 refunds
// the whole reservation, e.g. when the call failed on the server side. Only
// the first Settle counts, and only before Release; it does not release slots.
// An actual above window.MaxLimit counts as window.MaxLimit: no pool is
// larger, and the statistics' sums stay far from overflowing.
func (t Ticket) Settle(now time.Time, actual int64) {
	st := t.st
	if st == nil || !st.gen.CompareAndSwap(t.gen, t.gen+1) {
		return
	}
	actual = min(max(actual, 0), window.MaxLimit)
	if st.l.mem != nil {
		ml := &st.ml
		if delta := actual - ml.credits; delta != 0 {
			seen := st.l.alertsSeen(&ml.t.alerts)
			rem, took := st.l.mem.adjust(now, ml.t, ml.at, delta)
			if ml.inRun { // after its call, which may still be in the run
				ml.t.pushAdjust(st.l.usage, now, ml.appName, delta)
			}
			st.l.settled(now, st, !ml.inRun, ml.t.key, ml.appName, &ml.t.alerts, seen, ml.limit, rem, delta, took)
			ml.credits = actual
		}
	} else {
		lease := &st.lease
		if delta := actual - lease.Credits; delta != 0 {
			seen := st.l.alertsSeen(lease.Alerts)
			rem := st.l.store.Adjust(now, lease, delta)
			// A charge that left credits was not cut short; one that
			// emptied the pool may have been, by an amount Adjust does
			// not report: count none, so that no crossing below the top
			// is claimed twice.
			var took int64
			if delta > 0 && rem > 0 {
				took = delta
			}
			st.l.settled(now, st, true, lease.Tenant, lease.App, lease.Alerts, seen, lease.Limit, rem, delta, took)
			lease.Credits = actual
		}
	}
	st.gen.Store(t.gen + 2)
}

// alertsSeen loads a tenant's alert state before a settle changes its pool
// (see alerter.check); 0 when there are no alerts.
func (l *Limiter) alertsSeen(alerts *AlertState) uint64 {
	if l.alerts == nil || alerts == nil {
		return 0
	}
	return alerts.seen()
}

// settled records a settled difference in the usage statistics (if record:
// one that followed its call into a tenant's run is recorded there) and the
// alerts, for which took is what the settle charged (0 for a refund) and seen
// the alert state before it.
func (l *Limiter) settled(now time.Time, st *ticketState, record bool, tenant, app string, alerts *AlertState, seen uint64, limit, rem, delta, took int64) {
	if l.usage != nil && record {
		l.usage.adjust(now, l.usageShard(st, tenant), tenant, app, delta)
	}
	if l.alerts != nil && alerts != nil {
		l.alerts.check(now, alerts, seen, tenant, limit, rem, took)
	}
}
