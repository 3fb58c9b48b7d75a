package client

import (
	"errors"
	"fmt"
	"time"

	"github.com/creditgate/creditgate/limiter"
)

// Errors.
var (
	// ErrConfig is wrapped by New's errors for a bad configuration.
	ErrConfig = errors.New("client: bad configuration")
	// ErrUnknownIntegration is returned by RoundTrip, with
	// WithStrictIntegrations, for a request naming an integration that is
	// not configured.
	ErrUnknownIntegration = errors.New("client: unknown integration")
	// ErrPrice wraps the cost table's error for a request it cannot price
	// (a body-priced route with a malformed or oversized body).
	ErrPrice = errors.New("client: request cannot be priced")
)

// Reason says why the Transport held or refused a call.
type Reason uint8

// Reasons.
const (
	ReasonNone           Reason = iota
	ReasonCredits               // the pool has too few credits (beyond the others' reserves)
	ReasonConcurrency           // the application's in-flight cap is reached
	ReasonSubConcurrency        // the API class's in-flight cap is reached
	ReasonQuota                 // the integration spent its quota
	ReasonQuietHours            // the integration's quiet hours
	ReasonPoolLevel             // the pool is below the integration's level
	ReasonRetryBudget           // the client's retry budget is spent
	ReasonUnavailable           // the store could not decide
	numReasons
)

var reasonNames = [numReasons]string{"none", "credits", "concurrency", "sub-concurrency",
	"quota", "quiet hours", "pool level", "retry budget", "unavailable"}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// reasonOf maps a store's refusal to a Reason.
func reasonOf(r limiter.Reason) Reason {
	switch r {
	case limiter.ReasonCredits:
		return ReasonCredits
	case limiter.ReasonConcurrency:
		return ReasonConcurrency
	case limiter.ReasonSubConcurrency:
		return ReasonSubConcurrency
	}
	return ReasonUnavailable
}

// LimitError is a call this client refused: it did not wait (fail-fast),
// what it waited for cannot be back before the context's deadline, it can
// never be admitted, or its retry budget is spent. It comes from the client,
// never from the server: a server's refusal reaches the caller as its
// response, unless the client then refuses to retry it (Status says so).
type LimitError struct {
	Integration string
	Reason      Reason
	// RetryAt is when what was short is expected back (credits, the end of
	// quiet hours), if nothing else is spent meanwhile; zero when unknown.
	RetryAt time.Time
	// Never: the call costs more than the pool can ever hold for it, or
	// (Reason ReasonConcurrency) takes more units of the concurrency cap
	// than the cap holds: the client's, or the server's (a 403 by
	// middleware.ByUnits, Status 403).
	Never bool
	// Deadline: the refusal came because RetryAt is after the context's
	// deadline (otherwise: fail-fast, Never, or the retry budget).
	Deadline bool
	// Status is the server's last status (429, 5xx) when the client refused
	// to retry a response, 0 when the call was never sent.
	Status int
}

func (e *LimitError) Error() string {
	msg := fmt.Sprintf("client: integration %q held back by the client (%s)", e.Integration, e.Reason)
	switch {
	case e.Reason == ReasonRetryBudget:
		msg = fmt.Sprintf("client: integration %q: the client's retry budget is spent (a limit of this client, not of the server)", e.Integration)
	case e.Never && e.Reason == ReasonConcurrency:
		msg += ": it takes more units of the concurrency cap than the cap holds"
	case e.Never:
		msg += ": it costs more than the pool can ever hold for it"
	case e.Deadline:
		msg += ": not back before the context's deadline"
	}
	if !e.RetryAt.IsZero() {
		msg += "; expected back at " + e.RetryAt.UTC().Format(time.RFC3339)
	}
	if e.Status != 0 {
		msg += fmt.Sprintf("; the server's last status was %d", e.Status)
	}
	return msg
}
