package middleware

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/creditgate/creditgate/limiter"
)

// Construction errors.
var (
	ErrNilHandler = errors.New("middleware: nil next handler")
	ErrNilLimiter = errors.New("middleware: nil limiter")
	ErrNilCosts   = errors.New("middleware: nil cost table")
	ErrBadOption  = errors.New("middleware: bad option")
)

// Option configures [New]. Options are applied in order; a later one wins.
type Option interface{ apply(*config) error }

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

// config is the whole configuration of one handler; buildConfig fills the defaults.
type config struct {
	keys        Keys     // keys.IP nil: ip.Key
	defaultKeys uint8    // which of keys' Tenant, App and User are the defaults (see parties)
	ip          ClientIP // the default IP key's settings
	headers     headerConfig
	now         func() time.Time // nil: the limiter's coarse clock (limiter.Limiter.Now)
	logger      *slog.Logger
	shadowAll   bool
	shadow      map[string]bool // route patterns in shadow mode
	shadowHdrs  bool            // send limit headers on shadow decisions
	refund5xx   bool
	onDecision  func(r *http.Request, d limiter.Decision, shadow bool)
	counters    *Counters
	bodies      ErrorBodies    // 429 and error bodies
	maxKey      int            // bytes of a key (WithMaxKeyBytes)
	budget      *PricingBudget // bodies held for pricing (WithPricingBudget, WithSharedPricingBudget); nil: New makes one of DefaultPricingBudget
}

// Keys says how a request's parties are named. It is itself an [Option]; a nil
// field keeps the default ([DefaultTenant], [DefaultApp], [DefaultUser], and
// the zero [ClientIP]'s Key). The user and IP keys name a request only for the
// limiter's usage statistics, so they run only when the limiter keeps them
// (limiter.WithUsage) or has a store other than its in-memory one, which may
// use them (limiter.WithStore).
type Keys struct {
	Tenant, App, User, IP KeyFunc
}

func (k Keys) apply(c *config) error {
	if k.Tenant != nil {
		c.keys.Tenant = k.Tenant
		c.defaultKeys &^= defaultTenantKey
	}
	if k.App != nil {
		c.keys.App = k.App
		c.defaultKeys &^= defaultAppKey
	}
	if k.User != nil {
		c.keys.User = k.User
		c.defaultKeys &^= defaultUserKey
	}
	if k.IP != nil {
		c.keys.IP = k.IP
	}
	return nil
}

func buildConfig(opts []Option) (*config, error) {
	c := &config{
		keys:        Keys{Tenant: DefaultTenant, App: DefaultApp, User: DefaultUser},
		defaultKeys: defaultTenantKey | defaultAppKey | defaultUserKey,
		// A 5xx is the server's fault: the caller should not pay for it.
		refund5xx: true,
		headers:   headerConfig{policy: "credits"},
		bodies:    problemBodies{},
		maxKey:    DefaultMaxKeyBytes,
	}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil Option", ErrBadOption)
		}
		if err := o.apply(c); err != nil {
			return nil, err
		}
	}
	if c.keys.IP == nil {
		c.keys.IP = c.ip.Key
	}
	return c, nil
}

// DefaultMaxKeyBytes is the longest key [New] accepts unless
// [WithMaxKeyBytes] says otherwise.
const DefaultMaxKeyBytes = 256

// WithMaxKeyBytes bounds the bytes of every key the middleware derives from a
// request, so that what the limiter keeps per tenant, application and usage
// entry is bounded in bytes, whatever the client sends. n is at least 64
// (default [DefaultMaxKeyBytes]).
//
// A tenant or application key over n bytes is refused with 400 (by [ByKey]):
// those keys choose a credit pool and a concurrency cap, so a legitimate one
// is short (an organisation id, an OAuth client id), and a long one is abuse
// or a broken authentication in front, which a refusal shows and hashing
// would hide. The keys that only name a request in usage statistics, its
// user, client IP, the {module} segment of its path and its method, are
// shortened instead: the request is served, and the key becomes a prefix of
// itself, "~" and 32 hex digits of its SHA-256, n bytes in all, so that
// distinct keys stay apart.
func WithMaxKeyBytes(n int) Option {
	return optionFunc(func(c *config) error {
		if n < minKeyBytes || n > 1<<20 {
			return fmt.Errorf("%w: WithMaxKeyBytes(%d): the limit must be %d..%d", ErrBadOption, n, minKeyBytes, 1<<20)
		}
		c.maxKey = n
		return nil
	})
}

// WithPricingBudget bounds the bytes of request bodies the handler holds to
// price them, across all its requests at once (default
// [DefaultPricingBudget]). A request whose pricing would hold more gets 503
// with Retry-After (by [ByBodyBudget]) at once, never a wait, also in shadow
// mode; the bytes come back when its pricing ends. A body that reaches the
// whole budget, which no wait would let in, gets 413 (by [ByBody], with the
// budget as its limit), also in shadow mode. Without a bound, clients
// that declare large bodies on body-priced routes and stall could make the
// server hold each route's body limit per connection. The budget counts the
// bytes read and the room offered to each read; io.ReadAll's final copy holds
// them twice for a moment. The server's ReadTimeout bounds how long a
// stalled body holds its share.
func WithPricingBudget(bytes int64) Option {
	return optionFunc(func(c *config) error {
		if bytes <= 0 {
			return fmt.Errorf("%w: WithPricingBudget(%d): the budget must be positive", ErrBadOption, bytes)
		}
		c.budget = newPricingBudget(bytes)
		return nil
	})
}

// PricingBudget is a pricing budget (see [WithPricingBudget]) that several
// handlers share, made by [NewPricingBudget]. A server that builds a new
// handler on each reload of its configuration gives them all one, so that
// the bodies an old handler still holds count against the new one's: a
// budget of each handler's own started full at every reload, and reloads
// could hold a budget's worth of stalled bodies each.
type PricingBudget struct {
	total int64        // its size
	free  atomic.Int64 // what it holds free now
}

// NewPricingBudget returns a budget of the given bytes for
// [WithSharedPricingBudget]; bytes must be positive.
func NewPricingBudget(bytes int64) (*PricingBudget, error) {
	if bytes <= 0 {
		return nil, fmt.Errorf("%w: NewPricingBudget(%d): the budget must be positive", ErrBadOption, bytes)
	}
	return newPricingBudget(bytes), nil
}

// newPricingBudget is a budget of bytes, all free (bytes > 0).
func newPricingBudget(bytes int64) *PricingBudget {
	p := &PricingBudget{total: bytes}
	p.free.Store(bytes)
	return p
}

// Bytes is the budget's size.
func (p *PricingBudget) Bytes() int64 { return p.total }

// Free is what the budget holds free now: its size less the bytes of the
// bodies being priced.
func (p *PricingBudget) Free() int64 { return p.free.Load() }

// WithSharedPricingBudget is [WithPricingBudget] with a budget that other
// handlers may share, made by [NewPricingBudget] (nil, or a PricingBudget
// of no bytes such as the zero value, is an error).
func WithSharedPricingBudget(b *PricingBudget) Option {
	return optionFunc(func(c *config) error {
		if b == nil {
			return fmt.Errorf("%w: WithSharedPricingBudget(nil)", ErrBadOption)
		}
		if b.total <= 0 {
			return fmt.Errorf("%w: WithSharedPricingBudget: a budget of no bytes (make it with NewPricingBudget)", ErrBadOption)
		}
		c.budget = b
		return nil
	})
}

// WithTrustedProxies makes the default client IP key believe X-Forwarded-For
// (or Forwarded, after [WithForwardedHeader]) from peers in these networks
// (see [ClientIP]). An IPv4 network may also be written IPv4-mapped, as an
// IPv6 socket shows its peers ("::ffff:10.0.0.0/104" is 10.0.0.0/8). It has
// no effect when [Keys] sets its own IP function.
func WithTrustedProxies(cidrs ...string) Option {
	return optionFunc(func(c *config) error {
		ps := make([]netip.Prefix, 0, len(cidrs))
		for _, s := range cidrs {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return fmt.Errorf("%w: trusted proxy %q is not a CIDR prefix", ErrBadOption, s)
			}
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				// Peers and hops are compared unmapped: so is the network.
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			ps = append(ps, p.Masked())
		}
		c.ip.TrustedProxies = ps
		return nil
	})
}

// WithForwardedHeader makes the default client IP key read the RFC 7239
// Forwarded header from trusted proxies instead of X-Forwarded-For (see
// [ClientIP.UseForwarded]). Use it only when the proxies write Forwarded.
func WithForwardedHeader() Option {
	return optionFunc(func(c *config) error { c.ip.UseForwarded = true; return nil })
}

// WithIPPrefixes sets the prefix lengths the default client IP key groups
// addresses by: v6 for IPv6 (default 64, so that a host rotating through its
// /64 stays one client), v4 for IPv4 (default 32).
func WithIPPrefixes(v6, v4 int) Option {
	return optionFunc(func(c *config) error {
		if v6 < 1 || v6 > 128 || v4 < 1 || v4 > 32 {
			return fmt.Errorf("%w: prefix lengths must be 1..128 (IPv6) and 1..32 (IPv4)", ErrBadOption)
		}
		c.ip.IPv6Bits, c.ip.IPv4Bits = v6, v4
		return nil
	})
}

// WithResetEpoch sends X-RATELIMIT-RESET as the Unix time of the reset (GitHub's
// convention) instead of the default whole seconds until it.
func WithResetEpoch() Option {
	return optionFunc(func(c *config) error { c.headers.epochReset = true; return nil })
}

// WithIETFHeaders also sends RateLimit-Policy: "<policy>";q=L;w=W and
// RateLimit: "<policy>";r=R;t=T (draft-ietf-httpapi-ratelimit-headers-10).
// An empty policy name means "credits". A 429 by a concurrency or
// sub-concurrency cap names that cap first, as a policy of its own
// ("concurrency" or "sub_concurrency", q its cap in concurrent requests,
// RateLimit r=0 and t equal to Retry-After); the credits item stays in
// RateLimit only if its t is no later than Retry-After, which the draft
// says must not point earlier than t.
func WithIETFHeaders(policy string) Option {
	return optionFunc(func(c *config) error {
		if policy == "" {
			policy = "credits"
		}
		if !validPolicyName(policy) {
			return fmt.Errorf("%w: policy name must be printable ASCII without quotes or backslashes", ErrBadOption)
		}
		if policy == ByConcurrency || policy == BySubConcurrency {
			return fmt.Errorf("%w: policy name %q is a slot cap's, which a concurrency 429 names", ErrBadOption, policy)
		}
		c.headers.ietf = true
		c.headers.policy = policy
		return nil
	})
}

// WithShadow turns on shadow (dry-run) mode for the given route patterns, as
// written in the cost table (cost.Route.Pattern; "" is the table's default
// route); [New] refuses a pattern the table does not have. In shadow mode every
// decision is computed, counted, logged and passed to the decision hook, and
// admitted requests spend credits as usual, but a refusal lets the request
// through, so that a limit can be tried on live traffic before it bites. The
// limiter's usage statistics count those requests as refused: what would have
// happened. An empty list is an error, not "every route" (a list read from
// configuration may be empty): use [WithShadowAll] for that.
func WithShadow(patterns ...string) Option {
	return optionFunc(func(c *config) error {
		if len(patterns) == 0 {
			return fmt.Errorf("%w: WithShadow without route patterns (WithShadowAll shadows every route)", ErrBadOption)
		}
		if c.shadow == nil {
			c.shadow = make(map[string]bool, len(patterns))
		}
		for _, p := range patterns {
			c.shadow[p] = true
		}
		return nil
	})
}

// WithShadowAll turns on shadow mode (see [WithShadow]) for every route:
// nothing is refused.
func WithShadowAll() Option {
	return optionFunc(func(c *config) error { c.shadowAll = true; return nil })
}

// WithShadowHeaders sends the limit headers on requests a shadow decision would
// have refused (default: they are sent only on admitted requests, so that
// clients do not start backing off from a limit that is only being tried).
func WithShadowHeaders() Option {
	return optionFunc(func(c *config) error { c.shadowHdrs = true; return nil })
}

// WithRefund5xx says whether responses with a 5xx status (and handler panics)
// are refunded whole: the default is true, since a failure on the server's side
// should not cost the caller.
func WithRefund5xx(on bool) Option {
	return optionFunc(func(c *config) error { c.refund5xx = on; return nil })
}

// WithLogger logs refusals (and would-be refusals in shadow mode) and cost
// errors at Info level. Nothing is logged by default.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrBadOption)
		}
		c.logger = l
		return nil
	})
}

// WithDecisionHook calls fn after every refusal, real or shadow (shadow true),
// before the response is written. fn runs on the request's goroutine.
func WithDecisionHook(fn func(r *http.Request, d limiter.Decision, shadow bool)) Option {
	return optionFunc(func(c *config) error {
		if fn == nil {
			return fmt.Errorf("%w: nil decision hook", ErrBadOption)
		}
		c.onDecision = fn
		return nil
	})
}

// WithCounters makes the handler count its decisions into cs, which the caller
// can read at any time.
func WithCounters(cs *Counters) Option {
	return optionFunc(func(c *config) error {
		if cs == nil {
			return fmt.Errorf("%w: nil counters", ErrBadOption)
		}
		c.counters = cs
		return nil
	})
}

// WithClock replaces the default clock, for tests. The default is the
// limiter's coarse clock ([limiter.Limiter.Now]): one atomic load where
// time.Now can cost more than the rest of the decision, and fine enough for
// windows counted in minutes and headers in seconds.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrBadOption)
		}
		c.now = now
		return nil
	})
}
