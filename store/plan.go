package store

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/creditgate/creditgate/window"
)

// DefaultWindow is the window length of a Plan whose Window is zero.
const DefaultWindow = 24 * time.Hour

// MaxConcurrency is the largest concurrency or sub-concurrency cap a plan may
// set: a billion calls in flight, beyond any process.
const MaxConcurrency = 1<<30 - 1

// MaxUnits is the most units of its application's concurrency cap one call
// may take (Request.Units; Zoho's heaviest takes 5); a call of more is
// refused for concurrency and never admitted, as one of more than the cap
// is. It bounds what takes in flight add to a counter before they are
// refused (the memory store counts 32 bits a cap), and the members a take
// writes in the Redis store (one per unit).
const MaxUnits = 1024

// MaxWindows is the most windows a plan may have: its pool and up to
// MaxWindows-1 extra windows. It bounds what one tenant holds (and what a
// snapshot of one may take).
const MaxWindows = 16

// Plan errors. Validate wraps them in a *PlanError that names the field.
var (
	ErrNegative      = errors.New("store: negative size")
	ErrNoCredits     = errors.New("store: plan has no credits")
	ErrNoConcurrency = errors.New("store: concurrency must be positive")
	ErrCapAbovePool  = errors.New("store: cap can never bind")
	ErrUnknownClass  = errors.New("store: unknown api class")
	ErrOverflow      = errors.New("store: credits, slots or window too large")
	ErrCalendar      = errors.New("store: bad calendar window")
	// ErrAddOnsAbovePool: more add-on credits than the pool holds.
	ErrAddOnsAbovePool = errors.New("store: add-on credits above the pool")
	// ErrTooManyWindows: more than MaxWindows windows.
	ErrTooManyWindows = errors.New("store: too many windows")
)

// PlanError says which plan and field failed validation.
type PlanError struct {
	Plan  string
	Field string
	Err   error
}

func (e *PlanError) Error() string {
	return fmt.Sprintf("store: plan %q: %s: %v", e.Plan, e.Field, e.Err)
}

func (e *PlanError) Unwrap() error { return e.Err }

// Plan is plain data describing one tenant's limits: a pool of Credits that
// come back over a window, a concurrency cap per application, sub-concurrency
// caps per API class shared by the whole tenant, and optional extra windows
// that must all admit too (a compound policy, e.g. per 10 s and per day).
//
// The pool rolls by default: credits spent come back one Window after they
// were spent (Zoho CRM's rolling 24 hours). With a Calendar, the whole pool
// comes back at wall-clock boundaries instead (Zoho's old daily reset at
// 00:00 in America/Los_Angeles).
type Plan struct {
	Name        string
	Credits     int64         // the pool
	Window      time.Duration // DefaultWindow when 0
	Calendar    *Calendar     // nil: a rolling window
	Concurrency int64         // in-flight calls per application
	// SubConcurrency caps in-flight calls per API class ("bulk", "query",
	// ...) across all applications of a tenant. A class absent from the map
	// has no cap.
	SubConcurrency map[string]int64
	Extra          []WindowLimit // more windows that must all admit
	// AddOns is the part of Credits bought on top of the plan's allowance
	// (Zoho's and Salesforce's add-on credits), 0 for none. Stores admit
	// them like any credit; only what counts from the allowance alone
	// reads it, through [Plan.Allowance] (the middleware's
	// X-API-CREDITS-REMAINING, sent from half the allowance used, as Zoho
	// sends it "add-on credits excluded").
	AddOns int64
}

// Allowance returns the pool without its add-on credits: Credits - AddOns.
func (p Plan) Allowance() int64 { return p.Credits - p.AddOns }

// Exceeded returns the limit of the first of p's windows that n credits
// exceed, the pool's else an extra window's: no wait admits such a call.
// 0 if n fits every window.
func (p *Plan) Exceeded(n int64) int64 {
	if n > p.Credits {
		return p.Credits
	}
	for _, x := range p.Extra {
		if n > x.Credits {
			return x.Credits
		}
	}
	return 0
}

// WindowLimit is one extra window of a compound plan.
type WindowLimit struct {
	Credits  int64
	Window   time.Duration
	Calendar *Calendar // nil: rolling
}

// Calendar makes a window reset at wall-clock boundaries: every Window (a
// whole number of days, or a divisor of a day) from Reset past midnight in
// Location, so a day around a DST change has 23 or 25 hours.
type Calendar struct {
	Reset    time.Duration // offset from midnight, in [0, 24h)
	Location *time.Location
}

// Pool returns the plan's pool as a WindowLimit: the first window every
// admission passes.
func (p Plan) Pool() WindowLimit {
	return WindowLimit{Credits: p.Credits, Window: p.WindowLength(), Calendar: p.Calendar}
}

// WindowLength returns Window, or DefaultWindow when Window is zero.
func (p Plan) WindowLength() time.Duration {
	if p.Window == 0 {
		return DefaultWindow
	}
	return p.Window
}

// Validate reports the first problem with p: an empty or too large pool,
// negative add-ons or more than the pool, negative or too long windows, a
// bad calendar, a non-positive or too large
// concurrency or sub-concurrency cap, a nameless class, or an extra window
// that is empty or can never bind (no longer than the pool's window yet
// allowing more than the whole pool). A sub-concurrency cap above
// Concurrency is valid: the scopes differ (per tenant and class versus per
// application).
func (p Plan) Validate() error {
	bad := func(field string, err error) error { return &PlanError{Plan: p.Name, Field: field, Err: err} }
	if p.Window < 0 {
		return bad("Window", ErrNegative)
	}
	if err := p.Pool().validate(); err != nil {
		return bad(field(err, "Credits", "Window", "Calendar"), err)
	}
	if p.AddOns < 0 {
		return bad("AddOns", ErrNegative)
	}
	if p.AddOns > p.Credits {
		return bad("AddOns", ErrAddOnsAbovePool)
	}
	if p.Concurrency <= 0 {
		return bad("Concurrency", ErrNoConcurrency)
	}
	if p.Concurrency > MaxConcurrency {
		return bad("Concurrency", ErrOverflow)
	}
	for c, n := range p.SubConcurrency {
		if _, err := classProblem(c, n); err != nil {
			return p.classError() // found without allocating: a plan is validated per step over some stores
		}
	}
	if len(p.Extra) >= MaxWindows {
		return bad("Extra", ErrTooManyWindows)
	}
	w := p.WindowLength()
	for i, x := range p.Extra {
		if err := x.validate(); err != nil {
			return bad(fmt.Sprintf("Extra[%d].", i)+field(err, "Credits", "Window", "Calendar"), err)
		}
		if x.Window <= w && x.Credits > p.Credits {
			return bad(fmt.Sprintf("Extra[%d]", i), ErrCapAbovePool)
		}
	}
	return nil
}

// classError is Validate's error for p's first bad class in sorted order,
// so that a map's random order gives the same error every time.
func (p Plan) classError() error {
	for _, c := range slices.Sorted(maps.Keys(p.SubConcurrency)) {
		if field, err := classProblem(c, p.SubConcurrency[c]); err != nil {
			return &PlanError{Plan: p.Name, Field: field, Err: err}
		}
	}
	return nil
}

// classProblem says what is wrong with class c capped at n, and in which
// field; nil if nothing (the field is built only for an error).
func classProblem(c string, n int64) (field string, err error) {
	switch {
	case c == "":
		return "SubConcurrency", ErrUnknownClass
	case n <= 0:
		err = ErrNoConcurrency
	case n > MaxConcurrency:
		err = ErrOverflow
	default:
		return "", nil
	}
	return "SubConcurrency[" + c + "]", err
}

// windowError carries the field of a WindowLimit that failed.
type windowError struct {
	field int // 0 Credits, 1 Window, 2 Calendar
	err   error
}

func (e *windowError) Error() string { return e.err.Error() }
func (e *windowError) Unwrap() error { return e.err }

// field names a windowError's field.
func field(err error, names ...string) string {
	if we, ok := err.(*windowError); ok {
		return names[we.field]
	}
	return names[0]
}

func (x WindowLimit) validate() error {
	switch {
	case x.Credits <= 0:
		return &windowError{0, ErrNoCredits}
	case x.Credits > window.MaxLimit:
		return &windowError{0, ErrOverflow}
	case x.Window <= 0:
		return &windowError{1, ErrNegative}
	case x.Window > window.MaxLength:
		return &windowError{1, ErrOverflow}
	case x.Calendar == nil:
		return nil
	case x.Calendar.Location == nil, x.Calendar.Reset < 0, x.Calendar.Reset >= 24*time.Hour,
		x.Window%(24*time.Hour) != 0 && (24*time.Hour)%x.Window != 0:
		return &windowError{2, ErrCalendar}
	}
	return nil
}

// Clone returns a deep copy of p: stores and limiters keep clones, so that a
// caller changing its Plan afterwards changes nothing they hold.
func (p Plan) Clone() Plan {
	if p.SubConcurrency != nil {
		m := make(map[string]int64, len(p.SubConcurrency))
		for k, v := range p.SubConcurrency {
			m[k] = v
		}
		p.SubConcurrency = m
	}
	p.Extra = slices.Clone(p.Extra)
	if p.Calendar != nil {
		c := *p.Calendar
		p.Calendar = &c
	}
	for i, x := range p.Extra {
		if x.Calendar != nil {
			c := *x.Calendar
			p.Extra[i].Calendar = &c
		}
	}
	return p
}
