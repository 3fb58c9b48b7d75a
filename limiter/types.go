package limiter

import (
	"sync/atomic"
	"time"

	"github.com/creditgate/creditgate/semaphore"
)

// Request is one call to admit.
type Request struct {
	Tenant, App, User, IP, Module, Method string
	Credits                               int64 // 0 = free call: slots only
	Class                                 string
}

// Reason says why a Decision refused.
type Reason uint8

// Reasons for a refusal. The in-memory store counts slots with
// semaphore.Slots and semaphore.Pair: when an application or class is at its cap, a request
// being refused can, for an instant, make a concurrent one be refused too
// although one slot had just come free (never the other way: nothing is
// admitted past a cap).
const (
	ReasonNone           Reason = iota
	ReasonCredits               // the pool has too few credits
	ReasonConcurrency           // the application's in-flight cap is reached
	ReasonSubConcurrency        // the class's in-flight cap is reached
	ReasonTenants               // the store is full of busy tenants
)

func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return "none"
	case ReasonCredits:
		return "credits"
	case ReasonConcurrency:
		return "concurrency"
	case ReasonSubConcurrency:
		return "sub-concurrency"
	case ReasonTenants:
		return "tenants"
	}
	return "unknown"
}

// ConcurrencyRetryAfter is the RetryAfter hint of a concurrency refusal: slots
// free up when calls end, which nothing here can predict.
const ConcurrencyRetryAfter = time.Second

// Decision is the outcome of Acquire or Peek.
type Decision struct {
	Allowed    bool
	Reason     Reason
	Cost       int64
	Limit      int64         // pool size
	Remaining  int64         // after this decision
	Reset      time.Time     // when the next credits come back
	RetryAfter time.Duration // 0 when allowed
	Window     time.Duration // the pool's window length (0 when no tenant was reached)
}

// Lease is what a Store hands out for an admitted request and takes back in
// Release and Adjust. Stores keep their own references in Ref.
type Lease struct {
	Tenant  string
	App     string
	Class   string // "" when the class has no cap (no slot was taken)
	Credits int64  // reserved at admission
	At      int64  // admission time, Unix ns (the window slot to refund into)
	Limit   int64
	// Alerts is the tenant's alert arming state, nil if the store keeps none.
	// The MemoryStore also notes its state just before Take reads the pool,
	// which orders the admission's alert check against concurrent ones; with
	// another Store the check is ordered from when Take returns.
	Alerts *AlertState
	ID     uint64 // for stores that name leases (e.g. with an expiry)
	Ref    any    // store-private

	// The in-memory store's semaphores, kept so that Release needs no
	// lookup and cannot hit a semaphore a plan change put in their place.
	appSem, classSem *semaphore.Slots
	which            uint64 // the halves of the tenant's slots0 held
	// Alerts' word as the MemoryStore loaded it before Take read the pool
	// (AlertState.seen), 0 if not loaded.
	alertsSeen uint64
}

// AlertState is a tenant's alert arming: which thresholds have fired in their
// current crossing, and a generation that orders the reports applied to it
// (see alerter.check). The zero value is disarmed.
type AlertState struct{ word atomic.Uint64 }

// Store keeps tenants' credit pools and concurrency slots. MemoryStore is the
// default; a shared store (Redis) implements the same contract atomically on
// its side. storetest.Run checks an implementation. Methods are safe for
// concurrent use. A store shared by several processes should make its
// concurrency slots leases that expire (named by Lease.ID), so that the slots
// of a process that died come back; the in-memory store needs none.
type Store interface {
	// Take admits req all or nothing: one slot of the application's
	// concurrency, one of the class's sub-concurrency if the plan caps the
	// class, and req.Credits from the tenant's pool(s). planFor gives the plan
	// of a tenant the store has not seen. When admitted it fills *lease (which
	// the caller provides so that it need not be copied); on refusal nothing
	// is kept and *lease is left as it was.
	Take(now time.Time, req Request, planFor func(tenant string) *Plan, lease *Lease) Decision
	// Release gives back the lease's slots; called once per admitted Take.
	Release(l *Lease)
	// Adjust settles the lease's credits: delta < 0 refunds -delta into the
	// admission slot, delta > 0 charges up to delta at now (never below zero).
	// It returns the remaining credits.
	Adjust(now time.Time, l *Lease, delta int64) int64
	// Peek reports the tenant's pool without spending.
	Peek(now time.Time, tenant string, planFor func(tenant string) *Plan) Decision
	// SetPlan applies p to a tenant the store holds, keeping what is spent
	// and what is held, also what admissions racing with it take. A tenant
	// it does not hold is not created; but one that a Take is creating
	// meanwhile, having asked planFor before the Limiter stored p, must end
	// with p (the MemoryStore asks planFor again after such a creation).
	SetPlan(now time.Time, tenant string, p *Plan) error
}
