package store

import (
	"errors"
	"io"
	"iter"
	"math"
	"time"
)

// Request is one call to admit. Stores read Tenant, App, Class, Credits,
// Keep and Units; the other fields are for the caller's usage statistics.
type Request struct {
	Tenant string // the pool's owner (an organisation, an account)
	App    string // the application (client id) whose concurrency cap applies
	Class  string // the API class whose sub-concurrency cap applies, "" for none
	// Credits is what the call costs; 0 is a free call that takes slots
	// only. A negative cost counts as 0.
	Credits int64
	// Keep is how many credits of the pool the call must leave untaken: a
	// reserve that only other callers may spend (a client's web forms, say).
	Keep int64
	// Units is how many units of the application's concurrency cap the
	// call takes while in flight (Zoho's Composite takes 5); 0 or less
	// means 1. Its class, if capped, still takes one unit. A call of more
	// units than the cap (or than MaxUnits) is refused for concurrency
	// every time, as one
	// costing more than the pool is for credits: callers that wait for
	// slots check Units against the plan's Concurrency first.
	Units int64

	User, IP, Module, Method string
}

// Reason says why a Decision refused.
type Reason uint8

// Reasons for a refusal.
const (
	ReasonNone           Reason = iota
	ReasonCredits               // the pool has too few credits
	ReasonConcurrency           // the application's in-flight cap is reached
	ReasonSubConcurrency        // the class's in-flight cap is reached
	ReasonTenants               // the store holds as many busy tenants as it may
	ReasonUnavailable           // the store could not decide (e.g. unreachable)
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
	case ReasonUnavailable:
		return "unavailable"
	}
	return "unknown"
}

// ConcurrencyRetryAfter is the RetryAfter of a concurrency refusal: slots come
// free when calls end, which no store can predict.
const ConcurrencyRetryAfter = time.Second

// Decision is the outcome of one step of a store. Cost and Used are read in
// the same atomic step as the change, so Used-Cost is exactly the pool's use
// just before it, whatever other callers do.
type Decision struct {
	Allowed bool
	Reason  Reason
	// Cost is the step's credits: for Take, the request's (taken when
	// Allowed); for Settle and Charge, what was charged to the pool
	// (negative: refunded), the window whose Used the Decision reports. A
	// partial charge's extra windows take what they can of it, perhaps
	// less, each keeping its own charge.
	Cost int64
	// Limit is the pool's size; 0 when no pool was read: no tenant reached
	// (a full store), or a shared store out of reach deciding alone (the
	// Redis store's failure modes), whose Remaining and Used are then not
	// the pool's either.
	Limit int64
	// AddOns, Cap and Exceeds are figures of the plan the step was
	// decided under (the one whose windows and caps the store enforced),
	// which after a plan change is not always what a PlanFunc answers now:
	// a tenant keeps its plan until SetPlan. A caller deciding about the
	// step (the add-ons left out of a header, a refusing cap's size, a 403
	// for a cost no wait admits) reads them here, not from its PlanFunc.
	// While a SetPlan races with the step, either plan's. Figures rather
	// than the plan itself: the memory store's common admission reads two
	// lines of its tenant, both full, and the plan's pointer is on a third
	// (a cache miss per call at 100,000 tenants).
	//
	// AddOns is the plan's add-on credits (Plan.AddOns): Limit less them is
	// the allowance. 0 when no tenant was reached.
	AddOns int64
	// Cap is, for a concurrency or sub-concurrency refusal, the cap that
	// refused (Plan.Concurrency, or the class's SubConcurrency), in units;
	// 0 otherwise.
	Cap int64
	// Exceeds is, for a credits refusal that no wait admits, the limit the
	// step's whole charge exceeds: the pool's, or else the first of a
	// compound plan's extra windows that holds less; 0 otherwise. The
	// whole charge is a Take's Cost, and for a Settle the lease's charge
	// after it: what the lease holds (its Take's and Settles' charges)
	// plus the Cost refused, which no call charging it all within one
	// window's span ever gets (a body-priced request reserving the rest of
	// its price at its admission exceeds a window with its whole price, on
	// every try). A caller that spreads one lease's Settles over longer
	// than a window may still be admitted later: by then what the lease
	// took first has left that window.
	Exceeds   int64
	Remaining int64         // credits that could be taken just after (the least of the plan's windows)
	Used      int64         // credits spent in the pool just after
	Reset     time.Time     // when the next spent credits come back
	Window    time.Duration // the pool's window length (0 when no tenant was reached)
	// RetryAfter is 0 when allowed; for a credits refusal, how long until
	// the credits asked for (plus the Keep) are back if nothing else is
	// spent; ConcurrencyRetryAfter for a slot refusal.
	RetryAfter time.Duration
}

// PlanFunc gives the plan of a tenant. A store asks it for a tenant it does
// not hold yet (and, if it keeps no plans of its own, on every step). Plans
// it returns are valid and must not be changed.
type PlanFunc func(tenant string) *Plan

// Store keeps tenants' credit pools and concurrency slots. L is the store's
// own lease type: what it needs to release and settle an admission without a
// lookup. Callers hold leases and pass them back untouched; their contents
// are the store's business. Methods are safe for concurrent use; each is
// one atomic step of the store (one round trip for a remote store).
type Store[L any] interface {
	// Take admits req at now all or nothing: req.Units of the
	// application's concurrency (1 if Units is 0 or less), one slot of the
	// class's sub-concurrency if the plan caps the class, and req.Credits from every window of the tenant's plan while
	// leaving req.Keep in the pool. It fills *d and, when admitted, *lease;
	// on refusal nothing is kept and d says why and when to retry.
	Take(now time.Time, req *Request, plans PlanFunc, lease *L, d *Decision)
	// Release gives back the slots of an admitted Take, all the units it
	// took. Called once per admission.
	Release(lease *L)
	// Settle moves the lease's charge by delta credits at now: delta < 0
	// refunds -delta into the window slot the credits were taken in (never
	// more than is still spent there); delta > 0 charges up to delta, or
	// with exact all of it or nothing (Allowed false, Reason credits).
	Settle(now time.Time, lease *L, delta int64, exact bool) Decision
	// Charge takes up to n credits from tenant's pool at now with no slots
	// and no lease: spending that was made outside this store's callers
	// (another process, another integration) and that a caller learned of.
	Charge(now time.Time, tenant string, n int64, plans PlanFunc) Decision
	// Peek reports tenant's pool at now without changing or creating
	// anything; RetryAfter is how long until n credits (n > 0) are back.
	Peek(now time.Time, tenant string, n int64, plans PlanFunc) Decision
	// SetPlan gives tenant plan p from now on, keeping what is spent and
	// what is held, also what admissions racing with it take. A tenant the
	// store does not hold is not created; but one that a Take creates
	// meanwhile, having asked its PlanFunc before the caller stored p, must
	// end with p.
	SetPlan(now time.Time, tenant string, p *Plan) error
}

// Snapshotter is a store that can save its tenants' spending and restore it
// (state that survives a restart). Slots in flight are not saved. RestoreAt
// creates the tenants it restores with their plans from plans; a snapshot it
// cannot read gives an error wrapping ErrSnapshotCorrupt and changes nothing.
type Snapshotter interface {
	SnapshotAt(now time.Time, w io.Writer) error
	RestoreAt(now time.Time, r io.Reader, plans PlanFunc) error
}

// ErrSnapshotCorrupt is wrapped by a Snapshotter's RestoreAt for a snapshot
// it cannot read.
var ErrSnapshotCorrupt = errors.New("store: corrupt snapshot")

// Lister is a store that can list the tenants it holds.
type Lister interface {
	Tenants() iter.Seq[string]
}

// PlanFigures fills d's figures of plan p (AddOns, and for a refusal Cap
// and Exceeds) once its Reason and Cost are set, for a request of class: a
// store's helper for the steps where it holds the plan it decided under.
func (d *Decision) PlanFigures(p *Plan, class string) {
	d.AddOns, d.Cap, d.Exceeds = p.AddOns, 0, 0
	switch d.Reason {
	case ReasonConcurrency:
		d.Cap = p.Concurrency
	case ReasonSubConcurrency:
		d.Cap = p.SubConcurrency[class]
	case ReasonCredits:
		d.Exceeds = p.Exceeded(d.Cost)
	}
}

// SettleFigures is PlanFigures for a Settle of a lease that holds held
// credits (what its Take and Settles charged): a credits refusal's Exceeds
// is of the lease's whole charge, held plus the Cost refused.
func (d *Decision) SettleFigures(p *Plan, held int64) {
	d.PlanFigures(p, "")
	if d.Reason == ReasonCredits {
		held = max(held, 0)
		d.Exceeds = p.Exceeded(held + min(max(d.Cost, 0), math.MaxInt64-held)) // saturated: never wraps
	}
}
