package cost

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
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
	Cost    int64 // constant cost, used when CostFunc is nil
	// CostFunc computes the cost from the request, e.g. RecordsCost. It must
	// leave the request usable by the next handler (restore a body it reads).
	CostFunc func(r *http.Request) (int64, error)
	Class    string // sub-concurrency class, "" = none
}

// Price is what a request costs and which class it belongs to.
type Price struct {
	Credits int64
	Class   string
	Pattern string // matched pattern, "" for the default
	Module  string // the {module} path segment, "" if the pattern has none
}

// Table maps requests to prices. Patterns are validated and checked for
// conflicts by an internal http.ServeMux, and requests are matched with
// ServeMux's precedence: by a compiled copy of its routing tree for clean,
// plainly spelled paths (no allocation), by the ServeMux itself for the rest.
// It is immutable after NewTable and safe for concurrent use.
type Table struct {
	mux         *http.ServeMux
	m           *matcher // nil: every request goes to mux
	routes      []route
	defaultCost int64
}

type route struct {
	Route
	moduleSeg int // index of the {module} segment in the path, -1 if none
}

// routeIndex is the handler registered for each route; Lookup recognises it in
// what ServeMux.Handler returns. It never serves anything.
type routeIndex int

func (routeIndex) ServeHTTP(http.ResponseWriter, *http.Request) {}

// NewTable builds a table. Requests no route matches cost defaultCost.
// Invalid or conflicting patterns (ServeMux would panic) and negative costs are
// errors wrapping ErrPattern or ErrNegative.
func NewTable(defaultCost int64, routes ...Route) (*Table, error) {
	if defaultCost < 0 {
		return nil, fmt.Errorf("%w: default %d", ErrNegative, defaultCost)
	}
	t := &Table{mux: http.NewServeMux(), defaultCost: defaultCost}
	for i, r := range routes {
		if r.Cost < 0 {
			return nil, fmt.Errorf("%w: %q costs %d", ErrNegative, r.Pattern, r.Cost)
		}
		if err := register(t.mux, r.Pattern, routeIndex(i)); err != nil {
			return nil, err
		}
		t.routes = append(t.routes, route{Route: r, moduleSeg: moduleSegment(r.Pattern)})
	}
	if muxRoutesWildcards() {
		patterns := make([]string, len(routes))
		for i, r := range routes {
			patterns[i] = r.Pattern
		}
		t.m = newMatcher(patterns)
	}
	return t, nil
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

// moduleSegment finds which path segment of a (valid) pattern is {module}.
func moduleSegment(pattern string) int {
	p := pattern
	if i := strings.IndexAny(p, " \t"); i >= 0 {
		p = strings.TrimLeft(p[i:], " \t")
	}
	if i := strings.IndexByte(p, '/'); i >= 0 {
		p = p[i+1:] // drop host and leading slash
	}
	for i, seg := range strings.Split(p, "/") {
		if seg == "{module}" || seg == "{module...}" {
			return i
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

// Lookup prices r. The error comes only from a route's CostFunc (for example an
// oversized or malformed body); the Price then still names the route.
func (t *Table) Lookup(r *http.Request) (p Price, err error) {
	// Small enough to inline, as Limiter.Acquire: the price is written in
	// the caller's frame instead of being copied out (7 words).
	err = t.lookup(r, &p)
	return p, err
}

func (t *Table) lookup(r *http.Request, p *Price) error {
	var segs [maxSegs]string
	i, n := t.route(r, &segs)
	if i < 0 { // not found, or a redirect ServeMux would send
		*p = Price{Credits: t.defaultCost}
		return nil
	}
	rt := &t.routes[i]
	// Field by field: *p = Price{...} builds the literal on the stack and
	// copies it, which showed in profiles. p is zero (Lookup's result).
	p.Credits, p.Class, p.Pattern = rt.Cost, rt.Class, rt.Pattern
	switch {
	case rt.moduleSeg < 0:
	case n >= 0: // split by the fast path
		if rt.moduleSeg < n {
			p.Module = segs[rt.moduleSeg]
		}
	case r.URL != nil:
		// As ServeMux: split the escaped path, then unescape the segment.
		// In the unescaped Path each %2F before it would shift the index.
		seg := pathSegment(r.URL.EscapedPath(), rt.moduleSeg)
		if u, err := url.PathUnescape(seg); err == nil {
			seg = u
		}
		p.Module = seg
	}
	if rt.CostFunc != nil {
		c, err := rt.CostFunc(r)
		if err != nil {
			return fmt.Errorf("cost: cost of %q: %w", rt.Pattern, err)
		}
		if c < 0 {
			return fmt.Errorf("%w: %q computed %d", ErrNegative, rt.Pattern, c)
		}
		p.Credits = c
	}
	return nil
}

// route returns the index of r's route (-1 for none) and, when the compiled
// matcher found it, the number of path segments it split into segs (-1 when
// the ServeMux matched).
func (t *Table) route(r *http.Request, segs *[maxSegs]string) (int, int) {
	if t.m != nil && r.URL != nil && r.Method != http.MethodConnect {
		if n, trailing, ok := splitPath(r.URL, segs); ok {
			return t.m.lookup(r.Method, segs[:n], trailing), n
		}
	}
	return t.muxMatch(r), -1
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
