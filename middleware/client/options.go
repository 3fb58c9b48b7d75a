package client

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/usage"
)

// Option configures [New]. Options apply in order; a later one wins.
type Option interface{ apply(*config) error }

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

type config struct {
	l       *limiter.Limiter
	plan    *limiter.Plan
	costs   *cost.Table
	tenant  string
	app     string
	ints    []Integration
	def     string
	strict  bool
	retry   RetryPolicy
	clock   Clock
	usage   *usage.Stats
	maxHold time.Duration
	logger  *slog.Logger
	track   bool
	every   *time.Duration
	save    saveConfig
}

// DefaultConcurrency is the in-flight cap of a Transport that learns its
// pool and was given no plan.
const DefaultConcurrency = 10

// WithLimiter keeps the pool in l (its plan for the tenant is the pool; its
// store, such as a Redis one, may be shared by a fleet). Without it, New
// makes a limiter over an in-memory store, which Close closes.
func WithLimiter(l *limiter.Limiter) Option {
	return optionFunc(func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: nil limiter", ErrConfig)
		}
		c.l = l
		return nil
	})
}

// WithPlan is the pool's plan for a limiter New makes. A plan whose Credits
// is 0 is learned: its pool and window come from the server's limit headers
// after the first response, its concurrency caps are kept (Concurrency
// must be 1 to store.MaxConcurrency, as in any plan), and so are its extra
// windows, but for one that cannot bind under the pool learned (no longer
// than its window, yet above all of it; store.ErrCapAbovePool): that one is
// left out while such a pool holds, with a warning (WithLogger). With neither
// WithPlan nor WithLimiter the whole plan is learned, with
// DefaultConcurrency calls in flight at most (one until the first response).
func WithPlan(p limiter.Plan) Option {
	return optionFunc(func(c *config) error { p = p.Clone(); c.plan = &p; return nil })
}

// WithCosts prices requests with the server's cost table (default: every
// call costs 1). Its API classes must have caps in the plan.
func WithCosts(t *cost.Table) Option {
	return optionFunc(func(c *config) error {
		if t == nil {
			return fmt.Errorf("%w: nil cost table", ErrConfig)
		}
		c.costs = t
		return nil
	})
}

// WithTenant names the pool in the limiter (default ""): the account whose
// credits every integration spends.
func WithTenant(name string) Option {
	return optionFunc(func(c *config) error { c.tenant = name; return nil })
}

// WithApp names the application (client id) whose concurrency cap the
// calls take (default ""). Integrations share it, as they share one
// client id at the server.
func WithApp(name string) Option {
	return optionFunc(func(c *config) error { c.app = name; return nil })
}

// WithIntegrations configures the integrations. Requests naming none go to
// the first one unless WithDefaultIntegration says otherwise.
func WithIntegrations(its ...Integration) Option {
	return optionFunc(func(c *config) error { c.ints = append(c.ints, its...); return nil })
}

// WithDefaultIntegration names the integration of requests that name none,
// or name one that is not configured (unless WithStrictIntegrations). It
// must be configured.
func WithDefaultIntegration(name string) Option {
	return optionFunc(func(c *config) error { c.def = name; return nil })
}

// WithStrictIntegrations makes a request naming an unconfigured integration
// fail with ErrUnknownIntegration instead of going to the default one.
func WithStrictIntegrations() Option {
	return optionFunc(func(c *config) error { c.strict = true; return nil })
}

// WithClock replaces the clock (default: the limiter's coarse clock and
// time.AfterFunc).
func WithClock(clk Clock) Option {
	return optionFunc(func(c *config) error {
		if clk == nil {
			return fmt.Errorf("%w: nil clock", ErrConfig)
		}
		c.clock = clk
		return nil
	})
}

// WithUsage records every call into u in the server's shape, with the
// integration as the application, and external spend as application
// Outside, so that the dashboard can show a client's view.
func WithUsage(u *usage.Stats) Option {
	return optionFunc(func(c *config) error {
		if u == nil {
			return fmt.Errorf("%w: nil usage statistics", ErrConfig)
		}
		c.usage = u
		return nil
	})
}

// WithMaxHold takes a response's slots back from a body still open d after
// RoundTrip returned, counts it (Stats.Reclaimed) and logs it. Default: no
// limit.
func WithMaxHold(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: max hold %v", ErrConfig, d)
		}
		c.maxHold = d
		return nil
	})
}

// DefaultReconcileEvery is how often, at most, the headers of successful
// responses are read (see WithReconcileEvery).
const DefaultReconcileEvery = time.Millisecond

// WithReconcileEvery reads the limit headers of successful responses at most
// once per d (default DefaultReconcileEvery; 0: every response). Refusals
// and failures, and every response while the pool is being learned, are
// always read. A response's figures are as old as its latency, tens of
// milliseconds, so reading one per millisecond loses nothing a client could
// act on, and under load it saves the parse of every other response.
func WithReconcileEvery(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d < 0 {
			return fmt.Errorf("%w: reconcile period %v", ErrConfig, d)
		}
		c.every = &d
		return nil
	})
}

// WithLogger logs reclaimed slots, ignored plans and extra windows left out
// of a learned plan at Warn level.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrConfig)
		}
		c.logger = l
		return nil
	})
}

// WithBodyTracking records where each response still open was asked for,
// for [Transport.OpenBodies] and [Transport.CheckBodies]: a test helper (it
// costs a stack walk per call).
func WithBodyTracking() Option {
	return optionFunc(func(c *config) error { c.track = true; return nil })
}

// RetryPolicy says which responses are retried and how. Zero fields take
// the defaults.
type RetryPolicy struct {
	// MaxAttempts counts every attempt, the first included (default 3; 1
	// disables retries). When they run out, the last response reaches the
	// caller with its body intact.
	MaxAttempts int
	// MaxRetryAfter caps the wait a server's Retry-After or reset asks for
	// (default 5 minutes); a positive jitter of up to a fifth is added. A
	// Retry-After past what the header parser reads (more than a year
	// away, or a negative number) asks for more than the cap.
	MaxRetryAfter time.Duration
	// Backoff and MaxBackoff bound the full-jitter backoff of concurrency
	// refusals and transient failures (default 100 ms and 10 s).
	Backoff, MaxBackoff time.Duration
	// Retry5xx retries 5xx responses as transient failures (default off).
	Retry5xx bool
	// NonIdempotent retries methods other than GET, HEAD, OPTIONS, TRACE,
	// PUT and DELETE (default: only with an Idempotency-Key header); a
	// request with a method override header is every method it names. The
	// body must be replayable (Request.GetBody) in any case.
	NonIdempotent bool
	// BudgetRatio and BudgetFloor bound what retries spend: at most
	// BudgetRatio times the credits first attempts spent in the last
	// BudgetWindow, plus BudgetFloor credits (defaults 0.1, 10, 1 minute).
	// A retry is counted when it is sent: one decided within the budget
	// whose Retry-After or wait for admission takes it to a window with
	// no room is refused then.
	BudgetRatio  float64
	BudgetFloor  int64
	BudgetWindow time.Duration
}

// DefaultMaxRetryAfter caps Retry-After by default.
const DefaultMaxRetryAfter = 5 * time.Minute

// WithRetry sets the retry policy.
func WithRetry(p RetryPolicy) Option {
	return optionFunc(func(c *config) error { c.retry = p; return nil })
}

// withDefaults fills p's zero fields and checks the rest.
func (p RetryPolicy) withDefaults() (RetryPolicy, error) {
	bad := func(field string, v any) (RetryPolicy, error) {
		return p, fmt.Errorf("%w: retry policy %s %v", ErrConfig, field, v)
	}
	switch {
	case p.MaxAttempts < 0 || p.MaxAttempts > 100:
		return bad("MaxAttempts (0 to 100)", p.MaxAttempts)
	case p.MaxRetryAfter < 0, p.Backoff < 0, p.MaxBackoff < 0, p.BudgetWindow < 0:
		return bad("durations", "negative")
	case math.IsNaN(p.BudgetRatio) || p.BudgetRatio < 0 || p.BudgetRatio > 10:
		return bad("BudgetRatio (0 to 10)", p.BudgetRatio)
	case p.BudgetFloor < 0:
		return bad("BudgetFloor", p.BudgetFloor)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = 3
	}
	def(&p.MaxRetryAfter, DefaultMaxRetryAfter)
	def(&p.Backoff, 100*time.Millisecond)
	def(&p.MaxBackoff, 10*time.Second)
	def(&p.BudgetWindow, time.Minute)
	if p.BudgetRatio == 0 {
		p.BudgetRatio = 0.1
	}
	if p.BudgetFloor == 0 {
		p.BudgetFloor = 10
	}
	if p.MaxBackoff < p.Backoff {
		return bad("MaxBackoff below Backoff", p.MaxBackoff)
	}
	return p, nil
}
