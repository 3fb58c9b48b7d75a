package cost

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
)

// Cost-table errors.
var (
	ErrPattern  = errors.New("cost: bad route pattern")
	ErrNegative = errors.New("cost: negative cost")
)

// Route prices the requests that match Pattern, in net/http ServeMux syntax
// ("POST /crm/v8/{module}/upsert"). When two patterns match, the more specific
// one wins, exactly as in ServeMux.
type Route struct {
	Pattern string
	Cost    int64  // constant cost, used when Pricer.Func is nil
	Pricer  Pricer // prices from the request, e.g. RecordsCost
	Class   string // sub-concurrency class, "" = none
	// Units is how many units of the application's concurrency cap a
	// call of the route takes while in flight (store.Request.Units); 0
	// means 1. Zoho's Composite takes 5. A call of more units than its
	// plan's cap, or than store.MaxUnits, is never admitted.
	Units int64
}

// Price is what a request costs and which class it belongs to. When routers
// may read the request's path as different routes (see Unclean), Pattern
// and Module are those of the reading that can cost the most (ServeMux's
// on a tie), Credits is at least what each reading costs, and Class is
// that of the readings that have one (readings in two classes are
// refused: ErrClassConflict).
type Price struct {
	// Credits is the cost. When MaxBody > 0 it is the least the request
	// can cost, and PriceBody completes it.
	Credits int64
	Class   string
	// Units is what the call takes of its application's concurrency cap
	// (Route.Units, the most of any reading); 0 means 1.
	Units   int64
	Pattern string // matched pattern, "" for the default
	// Module is the path segment at the pattern's {module}, "" if the
	// pattern has none; for {module...}, the first segment it matches (a
	// module name, where ServeMux's PathValue gives the whole rest).
	Module string
	// MaxBody > 0 says the price depends on the body: PriceBody reads up to
	// MaxBody bytes of it. A request declaring a longer Content-Length
	// cannot be priced.
	MaxBody int64
	// Unclean reports a path (or host) that is not in the form ServeMux
	// serves its route at: one ServeMux redirects (dot segments, doubled
	// slashes, /tree for /tree/), one with an escaped slash or dot segment,
	// or one that another router reads as another route (ignoring case,
	// trailing dots, path parameters or a trailing slash, or running it as
	// the method an X-HTTP-Method-Override, X-HTTP-Method or
	// X-Method-Override header names, or a POST as the method its _method
	// query parameter names (Symfony, Laravel, express's method-override;
	// a form body's is not read), or as its own method in capitals when it
	// is sent in lower case). The request is priced as the dearest of
	// these readings; a strict server refuses it instead.
	Unclean bool
}

// Table maps requests to prices. Patterns are validated and checked for
// conflicts by an internal http.ServeMux, and requests are matched with
// ServeMux's precedence, by a compiled copy of its routing tree (no
// allocation for plainly spelled, clean paths) or, for tables with host
// patterns, by the ServeMux itself. It is immutable after NewTable and safe
// for concurrent use.
type Table struct {
	mux *http.ServeMux
	m   *matcher // nil: every request goes to mux
	// hosts holds, for tables with host patterns, a matcher per host of
	// their patterns ("" for those without a host), for the loose reading.
	hosts       map[string]*matcher
	hostsDepth  int // the most segments of their patterns
	routes      []route
	defaultCost int64
}

type route struct {
	Route
	moduleSeg int   // index of the {module} segment in the path, -1 if none
	hi        int64 // the most the route costs, MaxInt64 if unknown
}

// routeIndex is the handler registered for each route; muxMatch recognises it
// in what ServeMux.Handler returns. It never serves anything.
type routeIndex int

func (routeIndex) ServeHTTP(http.ResponseWriter, *http.Request) {}

// NewTable builds a table. Requests no route matches cost defaultCost.
// Invalid or conflicting patterns (ServeMux would panic), methods with
// lower-case letters and hosts no request reaches as written (capitals, a
// trailing dot, a port) are errors wrapping ErrPattern; negative costs or pricer bounds, ErrNegative; a Pricer whose
// Max is below its Min, or that has an InClass but no Func or reads the
// body, ErrArgs.
func NewTable(defaultCost int64, routes ...Route) (*Table, error) {
	if defaultCost < 0 {
		return nil, fmt.Errorf("%w: default %d", ErrNegative, defaultCost)
	}
	t := &Table{mux: http.NewServeMux(), defaultCost: defaultCost}
	for i, r := range routes {
		hi, err := checkRoute(r)
		if err != nil {
			return nil, err
		}
		if err := register(t.mux, r.Pattern, routeIndex(i)); err != nil {
			return nil, err
		}
		if err := checkReach(r.Pattern); err != nil {
			return nil, err
		}
		t.routes = append(t.routes, route{Route: r, moduleSeg: moduleSegment(r.Pattern), hi: hi})
	}
	if muxRoutesWildcards() {
		patterns := make([]string, len(routes))
		for i, r := range routes {
			patterns[i] = r.Pattern
		}
		if t.m = newMatcher(patterns); t.m == nil {
			byHost := map[string][]int{}
			for i, p := range patterns {
				_, host, _ := parsePattern(p)
				byHost[host] = append(byHost[host], i)
			}
			infos := make([]matchInfo, len(patterns)) // shared: one entry per pattern
			t.hosts = make(map[string]*matcher, len(byHost))
			for host, idx := range byHost {
				t.hosts[host] = newHostMatcher(patterns, idx, infos)
				t.hostsDepth = max(t.hostsDepth, t.hosts[host].depth)
			}
		}
	}
	return t, nil
}

// checkRoute validates r's costs and returns the most it costs.
func checkRoute(r Route) (int64, error) {
	p := r.Pricer
	switch {
	case r.Cost < 0:
		return 0, fmt.Errorf("%w: %q costs %d", ErrNegative, r.Pattern, r.Cost)
	case p.Func == nil && p.InClass != nil:
		return 0, fmt.Errorf("%w: %q pricer has InClass but no Func", ErrArgs, r.Pattern)
	case p.MaxBody > 0 && p.InClass != nil:
		return 0, fmt.Errorf("%w: %q pricer reads the body and has InClass: the class's slot is taken before the body is read", ErrArgs, r.Pattern)
	case r.Units < 0:
		return 0, fmt.Errorf("%w: %q takes %d units", ErrNegative, r.Pattern, r.Units)
	case p.Func == nil:
		return r.Cost, nil
	case p.Min < 0 || p.Max < 0 || p.MaxBody < 0:
		return 0, fmt.Errorf("%w: %q pricer min %d, max %d, max body %d",
			ErrNegative, r.Pattern, p.Min, p.Max, p.MaxBody)
	case p.Max != 0 && p.Max < p.Min:
		return 0, fmt.Errorf("%w: %q pricer max %d below min %d", ErrArgs, r.Pattern, p.Max, p.Min)
	case p.Max == 0:
		return math.MaxInt64, nil
	}
	return p.Max, nil
}

// checkReach refuses a (valid) pattern whose method or host no request
// reaches as written: ServeMux compares a request's method with the
// pattern's byte for byte, and clients send methods in capitals; and its
// host, the port stripped, so a host with capitals misses the same host in
// lower case (as clients send it), one with a trailing dot the host
// without it, and one with a port every request.
func checkReach(pattern string) error {
	method, host, _ := parsePattern(pattern)
	switch {
	case strings.ToUpper(method) != method:
		return fmt.Errorf("%w: %q: method %q has lower-case letters, and clients send methods in capitals", ErrPattern, pattern, method)
	case host == "":
		return nil
	case host != strings.ToLower(host):
		return fmt.Errorf("%w: %q: host %q has capitals; write it in lower case", ErrPattern, pattern, host)
	case strings.HasSuffix(host, "."):
		return fmt.Errorf("%w: %q: host %q ends in a dot; write it without", ErrPattern, pattern, host)
	case strings.Contains(host[strings.LastIndexByte(host, ']')+1:], ":"):
		return fmt.Errorf("%w: %q: host %q has a port, which requests' hosts are matched without", ErrPattern, pattern, host)
	}
	return nil
}

func register(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrPattern, p)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// moduleSegment finds which path segment of a (valid) pattern holds the
// value ServeMux's PathValue("module") gives: the {module} segment's own,
// but for a pattern with an empty segment ("//"). ServeMux files an empty
// segment under the key of a single wildcard and records the path segment
// it matches there as a value too, so the n-th named wildcard reads the
// n-th recorded segment, an earlier one (see golang/go#81222).
func moduleSegment(pattern string) int {
	p := pattern
	if i := strings.IndexAny(p, " \t"); i >= 0 {
		p = strings.TrimLeft(p[i:], " \t")
	}
	if i := strings.IndexByte(p, '/'); i >= 0 {
		p = p[i+1:] // drop host and leading slash
	}
	var recorded []int // segments whose matches ServeMux records
	named := 0         // named wildcards before {module}
	for i, seg := range strings.Split(p, "/") {
		switch {
		case seg == "{module}" || seg == "{module...}":
			if named < len(recorded) {
				return recorded[named]
			}
			return i
		case seg == "":
			recorded = append(recorded, i)
		case seg[0] == '{' && seg != "{$}":
			recorded = append(recorded, i) // a single wildcard: {x...} ends a pattern
			named++
		}
	}
	return -1
}

// pathSegment returns segment n of path (after the leading slash) without
// allocating. A byte loop: segments are short, and strings.IndexByte's call
// cost showed in the middleware's profile.
func pathSegment(path string, n int) string {
	i := 0
	if len(path) > 0 && path[0] == '/' {
		i = 1
	}
	for ; n > 0; n-- {
		for i < len(path) && path[i] != '/' {
			i++
		}
		if i == len(path) {
			return ""
		}
		i++
	}
	j := i
	for j < len(path) && path[j] != '/' {
		j++
	}
	return path[i:j]
}

// muxMatch is match by ServeMux alone.
func (t *Table) muxMatch(r *http.Request) int {
	h, _ := t.mux.Handler(r)
	if i, ok := h.(routeIndex); ok {
		return int(i)
	}
	return -1
}

// DefaultCost is what requests that match no route cost.
func (t *Table) DefaultCost() int64 { return t.defaultCost }

// Routes returns a copy of the table's routes, in construction order.
func (t *Table) Routes() []Route {
	out := make([]Route, len(t.routes))
	for i, r := range t.routes {
		out[i] = r.Route
	}
	return out
}

// Classes returns the distinct non-empty classes the routes name, sorted.
func (t *Table) Classes() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range t.routes {
		if r.Class != "" && !seen[r.Class] {
			seen[r.Class] = true
			out = append(out, r.Class)
		}
	}
	sort.Strings(out)
	return out
}

// Override returns routes with every route whose Pattern equals one in
// replacements replaced by it, and the other replacements appended. Profiles
// use it to let callers correct a figure the vendor has not confirmed.
func Override(routes []Route, replacements ...Route) []Route {
	out := append([]Route(nil), routes...)
	for _, rep := range replacements {
		found := false
		for i := range out {
			if out[i].Pattern == rep.Pattern {
				out[i], found = rep, true
			}
		}
		if !found {
			out = append(out, rep)
		}
	}
	return out
}

// ErrTooManyUnits is wrapped by CheckUnits.
var ErrTooManyUnits = errors.New("cost: route takes more units than any plan admits")

// CheckUnits reports, as an error wrapping ErrTooManyUnits, every route of
// t whose Units exceed most (store.MaxUnits, the most units a store takes
// for one call): every call of such a route would be refused, under any
// plan. Adapters that combine a store with a cost table call this at
// construction. (Units above one plan's cap are legal: tenants' plans
// differ.)
func (t *Table) CheckUnits(most int64) error {
	var over []string
	for _, r := range t.routes {
		if r.Units > most {
			over = append(over, fmt.Sprintf("%q takes %d units", r.Pattern, r.Units))
		}
	}
	if len(over) > 0 {
		return fmt.Errorf("%w: %s (at most %d)", ErrTooManyUnits, strings.Join(over, ", "), most)
	}
	return nil
}

// ErrUnknownClass is wrapped by CheckClasses.
var ErrUnknownClass = errors.New("cost: api class without a sub-concurrency cap")

// CheckClasses reports, as an error wrapping ErrUnknownClass, every API class
// that a route of t names but caps (a plan's sub-concurrency caps) does not.
// Such a class would run without a cap, which is almost always a typo;
// adapters that combine a plan with a cost table call this at construction.
func (t *Table) CheckClasses(caps map[string]int64) error {
	var missing []string
	for _, c := range t.Classes() {
		if _, ok := caps[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %q", ErrUnknownClass, missing)
	}
	return nil
}
