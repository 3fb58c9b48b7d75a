package limiter

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/creditgate/creditgate/semaphore"
	"github.com/creditgate/creditgate/window"
)

// DefaultWindow is the rolling window length a Plan with a zero Window uses.
const DefaultWindow = 24 * time.Hour

// MaxConcurrency is the largest concurrency or sub-concurrency cap a plan
// may set: a billion calls in flight, far beyond any process, and what a
// tenant's slot counts hold (semaphore.MaxPairCapacity).
const MaxConcurrency = semaphore.MaxPairCapacity

// Plan errors. Validate wraps them in a *PlanError that names the plan and field.
var (
	ErrNegative      = errors.New("limiter: negative size")
	ErrNoCredits     = errors.New("limiter: plan has no credits")
	ErrNoConcurrency = errors.New("limiter: concurrency must be positive")
	ErrCapAbovePool  = errors.New("limiter: cap can never bind")
	ErrUnknownClass  = errors.New("limiter: unknown api class")
	ErrOverflow      = errors.New("limiter: credits or slots overflow")
)

// PlanError says which plan and field failed validation.
type PlanError struct {
	Plan  string
	Field string
	Err   error
}

func (e *PlanError) Error() string {
	return fmt.Sprintf("limiter: plan %q: %s: %v", e.Plan, e.Field, e.Err)
}

func (e *PlanError) Unwrap() error { return e.Err }

// Plan is plain data describing one tenant's limits: a credit pool that refills
// over a rolling window, a concurrency cap per application, sub-concurrency caps
// per API class shared by the whole tenant, and optional extra windows that must
// all admit too (a compound policy, e.g. per 10 s and per day).
//
// The pool size follows Zoho's edition formula:
// min(BaseCredits + CreditsPerLicence*Licences, MaxCredits) + AddOnCredits.
type Plan struct {
	Name              string
	Window            time.Duration // rolling window length, DefaultWindow when 0
	BaseCredits       int64
	CreditsPerLicence int64
	Licences          int64
	MaxCredits        int64 // cap on base+per-licence; 0 = no cap
	AddOnCredits      int64 // added after the cap
	Concurrency       int64 // in-flight calls per application
	// SubConcurrency caps in-flight calls per API class ("bulk", "query", ...)
	// across all applications of a tenant. A class absent from the map has no cap;
	// cost.Table.CheckClasses reports cost-table classes a plan does not name.
	SubConcurrency map[string]int64
	Extra          []WindowLimit // extra windows that must all admit (compound)
}

// WindowLimit is one extra window of a compound plan.
type WindowLimit struct {
	Credits int64
	Window  time.Duration
}

// Credits returns the usable pool: the edition formula, capped, plus add-ons.
// It saturates at math.MaxInt64 instead of overflowing; Validate reports overflow.
func (p Plan) Credits() int64 {
	c, _ := p.credits()
	return c
}

func (p Plan) credits() (int64, bool) {
	ok := true
	perLic := p.CreditsPerLicence
	if p.Licences != 0 && perLic > math.MaxInt64/p.Licences {
		perLic, ok = math.MaxInt64, false
	} else {
		perLic *= p.Licences
	}
	c := satAdd(p.BaseCredits, perLic, &ok)
	if p.MaxCredits > 0 && c > p.MaxCredits {
		c = p.MaxCredits
	}
	return satAdd(c, p.AddOnCredits, &ok), ok
}

func satAdd(a, b int64, ok *bool) int64 {
	if b > 0 && a > math.MaxInt64-b {
		*ok = false
		return math.MaxInt64
	}
	return a + b
}

// WindowLength returns Window, or DefaultWindow when Window is zero.
func (p Plan) WindowLength() time.Duration {
	if p.Window == 0 {
		return DefaultWindow
	}
	return p.Window
}

// Validate reports the first problem with p: negative sizes, an empty pool, a
// non-positive concurrency or sub-concurrency cap, a nameless class, an extra
// window that is empty or can never bind (shorter than the pool's window yet
// allowing more than the whole pool), a pool above window.MaxLimit (2^40), or
// a window longer than window.MaxLength (ten years).
// A sub-concurrency cap above Concurrency is valid: the scopes differ (per
// tenant and class versus per application), as in Zoho's Free edition (5 and 10).
// Classes that a cost table names but the plan does not: see cost.Table.CheckClasses.
func (p Plan) Validate() error {
	bad := func(field string, err error) error { return &PlanError{Plan: p.Name, Field: field, Err: err} }
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"BaseCredits", p.BaseCredits}, {"CreditsPerLicence", p.CreditsPerLicence},
		{"Licences", p.Licences}, {"MaxCredits", p.MaxCredits}, {"AddOnCredits", p.AddOnCredits},
		{"Window", int64(p.Window)},
	} {
		if f.v < 0 {
			return bad(f.name, ErrNegative)
		}
	}
	pool, ok := p.credits()
	if !ok {
		return bad("Credits", ErrOverflow)
	}
	if pool <= 0 {
		return bad("Credits", ErrNoCredits)
	}
	if pool > window.MaxLimit {
		return bad("Credits", ErrOverflow)
	}
	if p.Window > window.MaxLength {
		return bad("Window", ErrOverflow)
	}
	if p.Concurrency <= 0 {
		return bad("Concurrency", ErrNoConcurrency)
	}
	if p.Concurrency > MaxConcurrency {
		return bad("Concurrency", ErrOverflow)
	}
	classes := make([]string, 0, len(p.SubConcurrency))
	for c := range p.SubConcurrency {
		classes = append(classes, c)
	}
	sort.Strings(classes) // deterministic error for a map
	for _, c := range classes {
		if c == "" {
			return bad("SubConcurrency", ErrUnknownClass)
		}
		if p.SubConcurrency[c] <= 0 {
			return bad("SubConcurrency["+c+"]", ErrNoConcurrency)
		}
		if p.SubConcurrency[c] > MaxConcurrency {
			return bad("SubConcurrency["+c+"]", ErrOverflow)
		}
	}
	w := p.WindowLength()
	for i, x := range p.Extra {
		field := fmt.Sprintf("Extra[%d]", i)
		switch {
		case x.Credits <= 0:
			return bad(field, ErrNoCredits)
		case x.Credits > window.MaxLimit:
			return bad(field, ErrOverflow)
		case x.Window <= 0:
			return bad(field, ErrNegative)
		case x.Window > window.MaxLength:
			return bad(field, ErrOverflow)
		case x.Window <= w && x.Credits > pool:
			return bad(field, ErrCapAbovePool)
		}
	}
	return nil
}

func clonePlan(p Plan) Plan {
	if p.SubConcurrency != nil {
		m := make(map[string]int64, len(p.SubConcurrency))
		for k, v := range p.SubConcurrency {
			m[k] = v
		}
		p.SubConcurrency = m
	}
	p.Extra = append([]WindowLimit(nil), p.Extra...)
	return p
}
