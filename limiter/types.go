package limiter

import "github.com/creditgate/creditgate/store"

// The contract's types, named here for the limiter's users (see package
// store for their documentation).
type (
	// Plan is a tenant's limits: see store.Plan.
	Plan = store.Plan
	// WindowLimit is one extra window of a compound plan.
	WindowLimit = store.WindowLimit
	// Calendar makes a window reset at wall-clock boundaries.
	Calendar = store.Calendar
	// Request is one call to admit.
	Request = store.Request
	// Decision is the outcome of an admission, a settle or a peek.
	Decision = store.Decision
	// Reason says why a Decision refused.
	Reason = store.Reason
)

// Reasons for a refusal (see store.Reason).
const (
	ReasonNone           = store.ReasonNone
	ReasonCredits        = store.ReasonCredits
	ReasonConcurrency    = store.ReasonConcurrency
	ReasonSubConcurrency = store.ReasonSubConcurrency
	ReasonTenants        = store.ReasonTenants
	ReasonUnavailable    = store.ReasonUnavailable
)

// DefaultWindow is the window length of a Plan whose Window is zero.
const DefaultWindow = store.DefaultWindow

// ConcurrencyRetryAfter is the RetryAfter of a concurrency refusal.
const ConcurrencyRetryAfter = store.ConcurrencyRetryAfter
