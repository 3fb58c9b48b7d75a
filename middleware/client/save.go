package client

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/creditgate/creditgate/cost"
)

// Saving calls: each feature is opt-in per route of the cost table (its
// pattern, exactly as written there) and optionally per integration; a
// request of a route no rule names goes out as before.

// Defaults of the saving rules.
const (
	// DefaultMaxShared is the largest response body that coalesced calls
	// share or the cache keeps.
	DefaultMaxShared = 1 << 20
	// DefaultCacheEntries and DefaultCacheBytes bound the cache.
	DefaultCacheEntries = 1000
	DefaultCacheBytes   = 32 << 20
	// DefaultBatchWindow is how long a batch waits for more records.
	DefaultBatchWindow = 5 * time.Millisecond
	// DefaultBatchRecords is the most records a batch carries (Zoho's 100).
	DefaultBatchRecords = 100
	// DefaultBatchBytes bounds a batch's body (and the route's pricer reads
	// at most its MaxBody).
	DefaultBatchBytes = 1 << 20
)

// CoalesceRule makes identical concurrent GET and HEAD requests of a route
// and an integration share one call and one charge (not those of different
// integrations, nor a fail-fast call with one that may wait: a call waits by
// its integration's rules, which must not hold back another's caller).
// Requests are identical when their method,
// URL, host and key headers are: those that carry credentials
// (Authorization, Proxy-Authorization, Cookie, any header whose name says
// key, token, auth, secret, session, signature, credential or password, and
// those of [WithKeyHeaders]), those that name whom the call acts for with
// the same credentials (any header but User-Agent and tracing ones, trace
// in the name, whose name says account,
// org, project, tenant, user, behalf, impersonat, sudo, context, business,
// company, customer, merchant, team or workspace: Stripe-Account,
// Stripe-Context, OpenAI-Organization, Zoho's X-CRM-ORG, GitLab's Sudo)
// and those that change the answer
// (Accept*, Range, Prefer, If-*, any header whose name says version). So two
// callers with different credentials, or acting for different accounts,
// never share a response. Credentials that the base transport adds itself
// (from the request's context, say) are not seen: with coalescing or
// caching, such a base must act for one identity only. The first caller
// sends the call; the others wait for it, each until its own context ends
// (one that joins it while it waits, in the queue or out a credits
// refusal's Retry-After, fails at once with a *LimitError, as in the
// queue, if what it waits for is not back before the joiner's deadline), and each gets its own response (headers cloned, the body a reader of its
// own over the bytes read once), or the same error if the server could not
// be reached (or, fail-fast, refused the call for credits). A request sent after a write through the Transport that may
// have changed its answer (a POST, PUT, PATCH, DELETE or other unsafe
// method, or a method override naming one, to the path of a coalesced or
// cached route or below it, or to a path routers may read as another
// route: cost.Price.Unclean) joins no call asked for before that write was
// answered, nor while it was in flight: it sends its own. When the first
// caller's call fails for that caller alone (its context ended, also while
// its answer was read, or its integration was refused), the others try
// again together. A body larger than MaxBody, or an
// answer that varies on a header outside the key, sets a cookie, or is
// Cache-Control private to a request that carries no credentials, is not
// shared: its caller gets it, and the others send their own calls.
type CoalesceRule struct {
	Route string // a pattern of the cost table
	// Integrations limits the rule to these integrations (nil: all).
	Integrations []string
	MaxBody      int64 // default DefaultMaxShared
}

// CacheRule serves a GET route's answers from an in-memory cache for TTL,
// keyed as [CoalesceRule] keys requests (so different credentials never
// share an entry). Only 200 responses are kept, of at most MaxBody bytes,
// and not when the server says Cache-Control no-store or no-cache, private
// for a request that carries no credentials, Vary on a header outside the
// key, or sets a cookie; a max-age below TTL shortens it (less the Age the
// answer came with; for a request without credentials, whose entry serves
// every caller as a shared cache's would, s-maxage if given). A request with
// Cache-Control no-cache (or Pragma: no-cache without Cache-Control, or
// [WithCacheBypass]), or a max-age the entry is as old as or older than
// (max-age=0: any entry), is sent and refreshes the entry; no-store is sent
// and not kept. Concurrent misses share one call, as coalesced calls do, but
// never one asked for before a write that dropped entries since. Any other
// request (POST, PUT, PATCH, DELETE) to a cached route's path or below it
// drops, before it is sent and again when it is answered, the entries of its
// module (the {module} of its route or its module query parameter) on every
// cached route, and the entries of the routes written to that have no
// module; a write that names no module drops every entry of the routes
// written to, and one whose path routers may read as another route
// (cost.Price.Unclean) drops every entry. A request with a method override
// (X-HTTP-Method-Override, X-HTTP-Method or X-Method-Override) is the method
// it names: never coalesced nor answered from the cache, and a write if that
// method is not safe (in any of those headers, or any line of one: a server
// may read another than the first).
type CacheRule struct {
	Route        string        // a GET pattern of the cost table
	TTL          time.Duration // > 0
	Integrations []string      // nil: all
	MaxBody      int64         // default DefaultMaxShared
}

// BatchRule sends the single-record writes of a route that takes an array of
// records (Zoho's insert, update and upsert: {"data":[...]}) as one call of
// up to MaxRecords records. A request is batched when its JSON body has
// exactly one record under Member, it has no idempotency key, and no digest
// or signature (Content-MD5, Digest, a header named signature, an
// Authorization with a Signature=) binds the bytes of its body, which a
// batch writes anew; it waits at most Window for others with the same
// method, URL, headers (all but Content-Length, User-Agent and tracing
// headers), other top-level members and integration, and never closer than
// Window to its context's deadline. Records of one module that share a value
// of a KeyFields field are never in one batch: the later one goes in a later
// batch, sent once the earlier one is answered, whatever their routes, lanes
// or integrations, so writes to one record keep the order they came in. (Two
// writes that name one record by different fields, one by id and one by
// Email, are not known to meet.)
//
// Each caller gets its own record's result, in the shape of a one-record
// answer: {Member:[result]} with "$.Member[i]" paths renumbered, status 400
// for a result whose status is not "success", else the batch's 200 or 201,
// or Success when the batch answered 207, uncompressed (the batch is sent
// without its callers' Accept-Encoding, since its answer is read to be
// split; the base transport may still compress it on the wire, as
// net/http does, and decompress it), with the batch's headers; a cookie the
// batch's answer sets goes only to the caller whose request the batch was
// sent as (the first record's: its headers and context), never to the
// others. When the batch fails as a whole
// (a transport error, or an answer without one result per record, such as a
// 401 or a 5xx), every caller gets that failure (its own copy of the
// response, or the error); a panic of the base transport while the batch is
// sent or its answer read is such a failure ([ErrBatchPanic]), not the
// end of the process, since it happens on a goroutine of the Transport's
// own. A batch is never re-sent by the batcher, so no
// write is lost without its caller knowing and none is duplicated. A caller
// whose context ends before its batch is sent is taken out of it.
type BatchRule struct {
	Route      string        // a POST, PUT or PATCH pattern of the cost table
	Member     string        // default "data"
	MaxRecords int           // default DefaultBatchRecords
	MaxBytes   int64         // default DefaultBatchBytes, at most the route's Pricer.MaxBody
	Window     time.Duration // default DefaultBatchWindow
	// KeyFields identify a record (default "id"); values compare ignoring
	// case.
	KeyFields []string
	// Success is a succeeded record's status when the batch answered 207
	// (default 201 for POST, else 200).
	Success      int
	Integrations []string // nil: all
}

type saveConfig struct {
	coalesce     []CoalesceRule
	cache        []CacheRule
	batch        []BatchRule
	cacheEntries int
	cacheBytes   int64
	headers      []string
}

// WithCoalescing adds coalescing rules (see [CoalesceRule]).
func WithCoalescing(rules ...CoalesceRule) Option {
	return optionFunc(func(c *config) error { c.save.coalesce = append(c.save.coalesce, rules...); return nil })
}

// WithCaching adds caching rules (see [CacheRule]).
func WithCaching(rules ...CacheRule) Option {
	return optionFunc(func(c *config) error { c.save.cache = append(c.save.cache, rules...); return nil })
}

// WithBatching adds batching rules (see [BatchRule]).
func WithBatching(rules ...BatchRule) Option {
	return optionFunc(func(c *config) error { c.save.batch = append(c.save.batch, rules...); return nil })
}

// WithCacheSize bounds the cache in entries and bytes (bodies and headers);
// the least recently used entries go first (default DefaultCacheEntries,
// DefaultCacheBytes).
func WithCacheSize(entries int, bytes int64) Option {
	return optionFunc(func(c *config) error {
		if entries <= 0 || bytes <= 0 {
			return fmt.Errorf("%w: cache size %d entries, %d bytes", ErrConfig, entries, bytes)
		}
		c.save.cacheEntries, c.save.cacheBytes = entries, bytes
		return nil
	})
}

// WithKeyHeaders names more request headers that carry credentials or change
// the answer, for the keys of coalescing and caching.
func WithKeyHeaders(names ...string) Option {
	return optionFunc(func(c *config) error {
		for _, n := range names {
			c.save.headers = append(c.save.headers, strings.ToLower(n))
		}
		return nil
	})
}

// saver holds the saving rules of a Transport; nil when it has none.
type saver struct {
	t        *Transport
	rules    map[string]*routeRules // by pattern
	list     []patternRules         // the same, for rulesOf's scan
	cache    *cache                 // nil without caching rules
	roots    []root                 // the cached routes' paths, by caching rule
	shared   []root                 // the coalesced routes' paths
	watch    bool                   // roots or shared: writes are matched
	gen      atomic.Uint64          // counts writes to those paths (saver.write), for flights; the cache counts its own
	flights  flights
	headers  []string // WithKeyHeaders, lower case
	batchers []*batcher
	batching batching
}

// patternRules are the rules of the route of pattern.
type patternRules struct {
	pattern string
	rr      *routeRules
}

// fewRules is how many routes with rules rulesOf scans rather than looking
// up in the map.
const fewRules = 8

// rulesOf returns the rules of the route of pattern, nil if it has none. A
// few are compared one by one, which is quicker than hashing the pattern:
// it is the cost table's string, so a match is mostly the same pointer,
// which the comparison returns at once, and the others mostly differ in
// length.
func (s *saver) rulesOf(pattern string) *routeRules {
	if len(s.list) > fewRules {
		return s.rules[pattern]
	}
	for i := range s.list {
		if s.list[i].pattern == pattern {
			return s.list[i].rr
		}
	}
	return nil
}

// add returns the rules of the route of pattern, made if it had none.
func (s *saver) add(pattern string) *routeRules {
	rr := s.rules[pattern]
	if rr == nil {
		rr = &routeRules{}
		s.rules[pattern] = rr
		s.list = append(s.list, patternRules{pattern, rr})
	}
	return rr
}

// routeRules are the rules of one route.
type routeRules struct {
	share *shareRule
	cache *cacheRoute
	batch *batcher
}

type shareRule struct {
	ints    []bool // by integration index; nil: all
	maxBody int64
}

type cacheRoute struct {
	shareRule
	idx int
	ttl time.Duration
}

func (r *shareRule) applies(it *integration) bool {
	return r != nil && (r.ints == nil || r.ints[it.idx])
}

// buildSaver checks the rules against the cost table and the integrations.
func (t *Transport) buildSaver(c *saveConfig) error {
	if len(c.coalesce)+len(c.cache)+len(c.batch) == 0 {
		return nil
	}
	s := &saver{t: t, rules: map[string]*routeRules{}, headers: c.headers}
	t.save = s
	for _, r := range c.coalesce {
		rr, ints, err := s.route(r.Route, r.Integrations, http.MethodGet, http.MethodHead)
		if err != nil {
			return err
		}
		rr.share = &shareRule{ints: ints, maxBody: orDefault(r.MaxBody, DefaultMaxShared)}
		s.shared = append(s.shared, newRoot(r.Route))
	}
	if len(c.cache) > 0 {
		if err := s.buildCache(c); err != nil {
			return err
		}
	}
	s.watch = len(s.roots)+len(s.shared) > 0
	for _, r := range c.batch {
		rr, ints, err := s.route(r.Route, r.Integrations, http.MethodPost, http.MethodPut, http.MethodPatch)
		if err != nil {
			return err
		}
		if rr.batch, err = t.newBatcher(r, ints); err != nil {
			return err
		}
		s.batchers = append(s.batchers, rr.batch)
	}
	return nil
}

func (s *saver) buildCache(c *saveConfig) error {
	if len(c.cache) > maxCacheRules {
		return fmt.Errorf("%w: %d caching rules, at most %d", ErrConfig, len(c.cache), maxCacheRules)
	}
	s.cache = newCache(orDefault(c.cacheEntries, DefaultCacheEntries), orDefault(c.cacheBytes, DefaultCacheBytes))
	for i, r := range c.cache {
		if r.TTL <= 0 {
			return fmt.Errorf("%w: caching rule %q: TTL %v", ErrConfig, r.Route, r.TTL)
		}
		rr, ints, err := s.route(r.Route, r.Integrations, http.MethodGet)
		if err != nil {
			return err
		}
		rr.cache = &cacheRoute{shareRule: shareRule{ints: ints, maxBody: orDefault(r.MaxBody, DefaultMaxShared)},
			idx: i, ttl: r.TTL}
		s.roots = append(s.roots, newRoot(r.Route))
	}
	return nil
}

// route finds a rule's route, checks its method and integrations, and
// returns the route's rules (made on first use) and the integration set.
func (s *saver) route(pattern string, its []string, methods ...string) (*routeRules, []bool, error) {
	bad := func(why string) error { return fmt.Errorf("%w: saving rule for %q: %s", ErrConfig, pattern, why) }
	found := false
	for _, r := range s.t.costs.Routes() {
		found = found || r.Pattern == pattern
	}
	if !found {
		return nil, nil, bad("not a route of the cost table")
	}
	if m := patternMethod(pattern); m != "" && !contains(methods, m) {
		return nil, nil, bad("method " + m + " (want " + strings.Join(methods, ", ") + ")")
	}
	var ints []bool
	if its != nil {
		ints = make([]bool, len(s.t.list))
		for _, name := range its {
			it := s.t.ints[name]
			if it == nil {
				return nil, nil, bad("integration " + name + " is not configured")
			}
			ints[it.idx] = true
		}
	}
	return s.add(pattern), ints, nil
}

// patternMethod is a pattern's method, "" for none.
func patternMethod(p string) string {
	if i := strings.IndexAny(p, " \t"); i >= 0 {
		return p[:i]
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func orDefault[N int | int64](v, def N) N {
	if v <= 0 {
		return def
	}
	return v
}

// roundTrip sends call c through the rules of its route, or as it is.
func (s *saver) roundTrip(c *call, o callOpts) (*http.Response, error) {
	rr, mask, write := s.match(c.req, &c.price)
	switch {
	case rr == nil && !write:
		return c.run() // what the rules cost a call they do not apply to: match
	case write:
		return s.write(c, rr, o, mask)
	case c.req.Method == http.MethodGet || c.req.Method == http.MethodHead:
		return s.read(c, rr, o)
	}
	return s.send(c, rr, o)
}

// match returns the rules of r's route (priced as p), and for a write, the
// cached routes whose path it is at or below (bit i: rule i), and whether
// it is at or below the path of any cached or coalesced route (write); all
// of them for a path that routers may read otherwise.
func (s *saver) match(r *http.Request, p *cost.Price) (rr *routeRules, mask uint64, write bool) {
	rr = s.rulesOf(p.Pattern)
	if !s.watch || safeMethod(r.Method) && !unsafeOverride(r) {
		return rr, 0, false
	}
	if p.Unclean {
		return rr, 1<<uint(len(s.roots)) - 1, true
	}
	path := urlPath(r.URL)
	for i, rt := range s.roots {
		if rt.under(path) {
			mask |= 1 << uint(i)
		}
	}
	write = mask != 0
	for i := 0; i < len(s.shared) && !write; i++ {
		write = s.shared[i].under(path)
	}
	return rr, mask, write
}

// send sends a call that is not a read: batched if its route says so.
func (s *saver) send(c *call, rr *routeRules, o callOpts) (*http.Response, error) {
	if m := c.req.Method; rr != nil && rr.batch != nil && (m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch) {
		return rr.batch.roundTrip(c, o)
	}
	return c.run()
}

// overridden reports whether any line (or comma-separated element) of any
// method override header of r names a method (cost.OverrideMethods): a
// server may run r as any of them, not only as the first header's first
// line (cost.OverrideMethod), which may be empty beside one that names HEAD.
func overridden(r *http.Request) bool {
	named := false
	cost.OverrideMethods(r, func(m string) bool {
		named = m != ""
		return !named
	})
	return named
}

// unsafeOverride reports whether any line of any method override header of
// r names a method that is not safe (cost.OverrideMethods): a server may
// read another one than cost.OverrideMethod does (the first header's first
// line), such as the last line, or X-HTTP-Method where
// X-HTTP-Method-Override says GET.
func unsafeOverride(r *http.Request) bool {
	unsafe := false
	cost.OverrideMethods(r, func(m string) bool {
		unsafe = !safeMethod(m)
		return !unsafe
	})
	return unsafe
}

// safeMethod reports a method that changes nothing (RFC 9110, 9.2.1).
func safeMethod(m string) bool {
	switch m {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}
