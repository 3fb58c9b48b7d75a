package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/store/memory"
	"github.com/creditgate/creditgate/usage"
	"github.com/creditgate/creditgate/window"
)

// Transport is an http.RoundTripper that keeps the calls of every
// integration inside one shared credit pool (see the package doc): it
// prices each request with the cost table, waits for the integration's
// rules, the application slot, the class slot and the credits, sends it on
// its base transport, holds the slots until the response body is closed or
// read to its end, reconciles the pool with the server's limit headers and
// retries refusals within a budget.
//
// Make it with New; use it as an http.Client's Transport. Safe for
// concurrent use. The admitted path takes no lock: a context lookup, the
// cost table, one or two limiter admissions and a body wrapper. Close
// releases what New made.
type Transport struct {
	base    http.RoundTripper
	l       *limiter.Limiter
	ownL    bool // made by New: Close closes it
	costs   *cost.Table
	tenant  string
	app     string
	ints    map[string]*integration
	list    []*integration
	def     *integration
	strict  bool
	clock   Clock
	wall    bool // clock is the limiter's: now calls it directly
	retry   RetryPolicy
	budget  budget
	gate    gate
	usage   *usage.Stats
	maxHold time.Duration
	logger  *slog.Logger
	track   *tracker // nil without WithBodyTracking
	save    *saver   // nil without saving rules

	learned   bool        // the pool comes from the server's headers
	learn     atomic.Bool // the pool is still to be learned from a response
	probing   atomic.Bool // one call at a time until the first response
	learnConc int64       // the concurrency cap once the first response came
	// learnExtra are the learned plan's extra windows (WithPlan's, or the
	// caller's once it sets others: see learnFrom): each pool learned gets
	// those that can bind in it (see fitExtra). setExtra are those the
	// Transport last set (guarded by poolMu).
	learnExtra, setExtra []store.WindowLimit
	poolMu               sync.Mutex // serialises applyPool
	pool                 atomic.Int64
	lastSync             atomic.Int64 // send time (Unix ns) of the newest response reconciled
	lastRead             atomic.Int64 // when (Unix ns) a success's headers were last read
	every                int64        // WithReconcileEvery, ns

	// probeUnits is what every call takes of the placeholder's cap while
	// probing, the whole of it: the most units of any route (at most
	// learnConc and store.MaxUnits), so that a composite call sent then still holds its units
	// once the plan is learned, until its body is closed.
	probeUnits int64

	outside   counters
	reclaimed atomic.Int64
	// heldInternal counts the held bodies of batches' calls (an
	// integration's held counts its callers' calls), closed the held bodies
	// released: see openBodies.
	heldInternal striped
	closed       striped
}

var _ http.RoundTripper = (*Transport)(nil)

// New returns a Transport sending on base (nil: http.DefaultTransport).
// Errors (wrapping ErrConfig, or the plan's or cost table's own) are
// returned for a bad option, a negative or absurd quota, reserves that add
// up to the pool, a default integration that is not configured, a cost
// table naming an API class the plan does not cap, or both WithLimiter and
// WithPlan.
func New(base http.RoundTripper, opts ...Option) (*Transport, error) {
	var c config
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil Option", ErrConfig)
		}
		if err := o.apply(&c); err != nil {
			return nil, err
		}
	}
	retry, err := c.retry.withDefaults()
	if err != nil {
		return nil, err
	}
	if base == nil {
		base = http.DefaultTransport
	}
	t := &Transport{base: base, l: c.l, tenant: c.tenant, app: c.app, strict: c.strict,
		retry: retry, usage: c.usage, maxHold: c.maxHold, logger: c.logger, costs: c.costs,
		every: int64(DefaultReconcileEvery)}
	if c.every != nil {
		t.every = int64(*c.every)
	}
	if err := t.bindLimiter(&c); err != nil {
		return nil, err
	}
	if err := t.build(&c); err != nil {
		t.closeOwn()
		return nil, err
	}
	return t, nil
}

// bindLimiter takes the limiter given, or makes one for the plan (learned
// when it has no credits).
func (t *Transport) bindLimiter(c *config) error {
	if c.l != nil {
		if c.plan != nil {
			return fmt.Errorf("%w: WithPlan and WithLimiter both given (the limiter's plan is the pool)", ErrConfig)
		}
		return nil
	}
	p := limiter.Plan{Name: "learned", Concurrency: DefaultConcurrency}
	if c.plan != nil {
		p = *c.plan
	}
	if p.Credits == 0 {
		if p.Concurrency <= 0 || p.Concurrency > store.MaxConcurrency {
			// The limiter refuses such a plan once it has credits: here it
			// would be refused when learned, and the placeholder kept.
			return fmt.Errorf("%w: learned plan with concurrency %d (must be 1 to %d)", ErrConfig, p.Concurrency, store.MaxConcurrency)
		}
		// Until a response says how large the pool is: no credit limit, and
		// one call at a time, so that a burst cannot go out blind.
		t.learned = true
		t.learn.Store(true)
		t.probing.Store(true)
		t.learnConc = p.Concurrency
		t.learnExtra = slices.Clone(p.Extra)
		t.setExtra = t.learnExtra // the placeholder's (see learnFrom)
		t.probeUnits = 1
		if t.costs != nil {
			for _, r := range t.costs.Routes() {
				t.probeUnits = max(t.probeUnits, r.Units)
			}
		}
		t.probeUnits = min(t.probeUnits, p.Concurrency, store.MaxUnits)
		p.Credits, p.Concurrency = window.MaxLimit, t.probeUnits
	}
	// One tenant whose calls run on every core: its slots are cached per
	// goroutine (see memory.WithSlotCache), so that two cores' calls do not
	// trade the tenant's slot word twice a call.
	l, err := limiter.New(p, limiter.WithStore(memory.New(memory.WithSlotCache())))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	t.l, t.ownL = l, true
	return nil
}

// build checks the cost table and the integrations and applies the pool.
func (t *Transport) build(c *config) error {
	if t.costs == nil {
		t.costs, _ = cost.NewTable(1)
	}
	pool := t.l.Plan(t.tenant)
	if err := t.costs.CheckClasses(pool.SubConcurrency); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	t.clock = c.clock
	if t.clock == nil {
		t.clock, t.wall = wallClock{now: t.l.Now}, true
	}
	if err := t.buildIntegrations(c); err != nil {
		return err
	}
	if err := t.buildSaver(&c.save); err != nil {
		return err
	}
	t.budget.init(t.retry)
	t.gate.t = t
	if c.track {
		t.track = &tracker{}
	}
	if t.learn.Load() {
		return nil
	}
	return t.applyPool(t.clock.Now(), pool)
}

func (t *Transport) buildIntegrations(c *config) error {
	its := c.ints
	if len(its) == 0 {
		its = []Integration{{Name: DefaultIntegration}}
	}
	t.ints = make(map[string]*integration, len(its))
	for _, cfg := range its {
		if err := cfg.validate(); err != nil {
			return err
		}
		if t.ints[cfg.Name] != nil {
			return fmt.Errorf("%w: integration %q configured twice", ErrConfig, cfg.Name)
		}
		it := &integration{Integration: cfg, idx: len(t.list)}
		if cfg.Quiet != nil {
			q := *cfg.Quiet
			it.Quiet = &q
		}
		if cfg.Quota > 0 {
			it.quotaKey = t.tenant + "/" + cfg.Name
		}
		t.ints[cfg.Name] = it
		t.list = append(t.list, it)
	}
	t.def = t.list[0]
	if c.def != "" {
		if t.def = t.ints[c.def]; t.def == nil {
			return fmt.Errorf("%w: default integration %q is not configured", ErrConfig, c.def)
		}
	}
	return nil
}

// integrationOf returns the integration a request names. A few are
// compared one by one, which is quicker than hashing the name.
func (t *Transport) integrationOf(name string) (*integration, error) {
	if name == "" {
		return t.def, nil
	}
	if len(t.list) <= fewIntegrations {
		for _, it := range t.list {
			if it.Name == name {
				return it, nil
			}
		}
	} else if it := t.ints[name]; it != nil {
		return it, nil
	}
	if t.strict {
		return nil, fmt.Errorf("%w %q", ErrUnknownIntegration, name)
	}
	return t.def, nil
}

// fewIntegrations is how many integrations integrationOf scans rather than
// looking up in the map.
const fewIntegrations = 8

// now is the Transport's time. The default clock is read directly: two
// indirect calls fewer, on a path that reads it three times per call.
func (t *Transport) now() time.Time {
	if t.wall {
		return t.l.Now()
	}
	return t.clock.Now()
}

// Limiter returns the limiter that holds the pool.
func (t *Transport) Limiter() *limiter.Limiter { return t.l }

// Close sends the batches still collecting records ([WithBatching]), fails
// the calls waiting for admission, waits for the batches being sent (or
// ctx), and closes the limiter New made (not one given with WithLimiter).
// It does not wait for other calls in flight; their slots are released
// when their bodies are closed.
func (t *Transport) Close(ctx context.Context) error {
	var err error
	if t.save != nil {
		t.save.batching.close(t.save.batchers)
	}
	t.gate.stop()
	if t.save != nil {
		err = t.save.waitSends(ctx)
	}
	if t.ownL {
		err = errors.Join(err, t.l.Close(ctx))
	}
	return err
}

func (t *Transport) closeOwn() {
	if t.ownL {
		_ = t.l.Close(context.Background())
	}
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		closeBody(req)
		return nil, errNilURL
	}
	o := optsOf(req.Context())
	it, err := t.integrationOf(o.integration)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	r := req
	if len(req.Header) > 0 && overrideSpelled(req.Header) {
		// A method override under a key net/http did not canonicalise is
		// sent as written, and a server reads it: on a copy, under its
		// canonical key, for the cost table, the cache and the retries,
		// which read those (cost.OverrideMethods).
		cp := *req
		cp.Header = canonicalOverrides(req.Header)
		r = &cp
	}
	if r == req && req.Body != nil && req.Body != http.NoBody {
		// A body-priced route reads the body and puts back one that replays
		// it; the caller's request must not change, so that goes on a copy.
		cp := *req
		r = &cp
	}
	// The price goes straight into the call: a copy through a local cost
	// one more 80-byte copy per call.
	c := call{t: t, it: it, req: r, failFast: o.failFast || it.FailFast}
	if r.URL.Opaque == "" {
		c.price, err = t.costs.Lookup(r)
	} else {
		c.price, err = t.lookupOpaque(r)
	}
	if err != nil {
		closeBody(r)
		return nil, fmt.Errorf("%w: %w", ErrPrice, err)
	}
	if t.save != nil {
		return t.save.roundTrip(&c, o)
	}
	return c.run()
}

// closeBody closes a request's body, as a RoundTripper must on every path.
func closeBody(r *http.Request) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
}

// lookupOpaque prices r, whose URL is opaque, by the path it sends
// (opaqueView). Apart from Lookup's call in RoundTrip, where it cost 15
// instructions a call.
func (t *Transport) lookupOpaque(r *http.Request) (cost.Price, error) {
	pr := opaqueView(r)
	p, err := t.costs.Lookup(pr)
	if pr.Body != r.Body {
		r.Body = pr.Body // a body-priced route's, put back to be replayed (r is a copy)
	}
	return p, err
}

// overrideSpelled reports whether h has a method override header under a
// key that is not canonical (cost.OverrideHeaders).
func overrideSpelled(h http.Header) bool {
	for k := range h {
		switch len(k) {
		case len("X-Http-Method"), len("X-Method-Override"), len("X-Http-Method-Override"):
			if c := http.CanonicalHeaderKey(k); c != k && isOverrideHeader(c) {
				return true
			}
		}
	}
	return false
}

func isOverrideHeader(canonical string) bool {
	for _, o := range cost.OverrideHeaders() {
		if canonical == o {
			return true
		}
	}
	return false
}

// canonicalOverrides is a copy of h with its method override headers under
// their canonical keys (the values of every spelling, canonical first).
func canonicalOverrides(h http.Header) http.Header {
	c := h.Clone()
	for k, vs := range h {
		if ck := http.CanonicalHeaderKey(k); ck != k && isOverrideHeader(ck) {
			c[ck] = append(c[ck], vs...)
			delete(c, k)
		}
	}
	return c
}

// errNilURL is the error of a request without a URL, as net/http's.
var errNilURL = errors.New("client: nil Request.URL")

// opaqueView is r with its opaque URL as the path it sends, for the cost
// table, which reads URL.Path (empty in an opaque URL); r's body is shared.
func opaqueView(r *http.Request) *http.Request {
	u := *r.URL
	u.Path, u.RawPath, u.Opaque = urlPath(r.URL), "", ""
	if esc := opaquePath(r.URL.Opaque); u.EscapedPath() != esc {
		u.RawPath = esc // as url.URL.setPath keeps an escaping of its own
	}
	if _, q, ok := strings.Cut(r.URL.Opaque, "?"); ok {
		// A query written into the opaque part goes out before RawQuery's.
		if r.URL.RawQuery != "" || r.URL.ForceQuery {
			q += "?" + r.URL.RawQuery
		}
		u.RawQuery, u.ForceQuery = q, false
	}
	v := *r
	v.URL = &u
	return &v
}

// opaquePath is the escaped path an opaque URL sends: net/http sends
// "//host/path" as the absolute form, "/path" as it is; "" for no path. A
// query written into it is not part of the path.
func opaquePath(o string) string {
	o, _, _ = strings.Cut(o, "?")
	if rest, ok := strings.CutPrefix(o, "//"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			return rest[i:]
		}
		return ""
	}
	if strings.HasPrefix(o, "/") {
		return o
	}
	return ""
}

// urlPath is u's path, unescaped, also for an opaque URL.
func urlPath(u *url.URL) string {
	if u.Opaque == "" {
		return u.Path
	}
	esc := opaquePath(u.Opaque)
	p, err := url.PathUnescape(esc)
	if err != nil {
		return esc
	}
	return p
}

// errStopped is what waiters get when Close stops the gate.
var errStopped = errors.New("client: transport closed")
