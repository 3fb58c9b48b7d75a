package cost

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrClassConflict is the error for a request whose readings (see
// Price.Unclean) fall in different API classes: a price holds one class's
// cap, and the server may run the request in the other, whose cap it would
// pass by. Such a request is refused, like one that cannot be priced.
var ErrClassConflict = errors.New("cost: request may reach routes in different api classes")

// Match prices r without reading its body, for admission before the body
// is read: the route, class and module, and either the final cost or, when
// it depends on the body (p.MaxBody > 0), the least it can be. The error
// comes from a Pricer that needs no body (p then still names the route),
// is ErrAmbiguousMethod (p is then zero), or wraps ErrClassConflict (p
// then names the dearest reading).
func (t *Table) Match(r *http.Request) (p Price, err error) {
	// Small enough to inline, like Lookup.
	err = t.matchInto(r, &p)
	return p, err
}

// matchInto is Match. A single reading (fastView found no other) is priced
// by price1 without a views struct to fill and zero.
func (t *Table) matchInto(r *http.Request, p *Price) error {
	var c pathCuts
	i, module, st := t.fastView(r, &c)
	if st&(fastDone|fastMore) == fastDone { // one reading: nearly always
		return t.price1(r, p, i, module, st&fastRedirect != 0)
	}
	var vs views
	t.views(r, &vs, &c, i, module, st)
	return t.matchViews(r, p, &vs)
}

// PriceBody completes p, which Match returned for r, by reading up to
// p.MaxBody bytes of r's body (restored for the next reader); then
// p.MaxBody is 0, p.Credits final, never below what Match said, and
// p.Class Match's. The error comes from a Pricer (for example
// *BodyTooLargeError or ErrMalformedBody); p is then unchanged.
func (t *Table) PriceBody(r *http.Request, p *Price) error {
	if p.MaxBody == 0 {
		return nil
	}
	var vs views
	var q Price
	var c pathCuts
	i, module, st := t.fastView(r, &c)
	t.views(r, &vs, &c, i, module, st)
	if err := t.matchViews(r, &q, &vs); err != nil {
		return err
	}
	if err := t.priceBody(r, &q, vs.v[:vs.n]...); err != nil {
		return err
	}
	p.Credits, p.MaxBody, p.Class = max(p.Credits, q.Credits), 0, q.Class
	return nil
}

// Lookup prices r in one call: Match, then PriceBody if the price depends
// on the body. The error comes from a route's Pricer (for example an
// oversized or malformed body; the Price then still names the route), is
// ErrAmbiguousMethod (the Price is then zero), or wraps ErrClassConflict
// (as for Match).
func (t *Table) Lookup(r *http.Request) (p Price, err error) {
	var c pathCuts
	i, module, st := t.fastView(r, &c)
	if st&(fastDone|fastMore) == fastDone && i >= 0 && t.routes[i].Pricer.Func == nil {
		// A constant-cost route, most calls: the price is returned, not
		// written through a pointer, which while the collector marks takes
		// a write barrier per string (a tenth of a client's call).
		rt := &t.routes[i]
		p.Credits, p.Class, p.Units, p.Pattern, p.Module, p.Unclean = rt.Cost, rt.Class, rt.Units, rt.Pattern, module, st&fastRedirect != 0
		return p, nil
	}
	err = t.lookup(r, &p, &c, i, module, st)
	return p, err
}

// lookup is Lookup past the fast view (route i, module, st of path cuts c).
func (t *Table) lookup(r *http.Request, p *Price, c *pathCuts, i int, module string, st int) error {
	if st&(fastDone|fastMore) == fastDone {
		err := t.price1(r, p, i, module, st&fastRedirect != 0)
		if err == nil && p.MaxBody > 0 {
			err = t.priceBody(r, p, view{route: i})
		}
		return err
	}
	var vs views
	t.views(r, &vs, c, i, module, st)
	err := t.matchViews(r, p, &vs)
	if err == nil && p.MaxBody > 0 {
		err = t.priceBody(r, p, vs.v[:vs.n]...)
	}
	return err
}

// price1 prices the one reading of r, route i, without its body.
func (t *Table) price1(r *http.Request, p *Price, i int, module string, unclean bool) error {
	if i >= 0 && t.routes[i].Pricer.Func == nil { // a constant cost: most routes
		rt := &t.routes[i]
		p.Credits, p.Class, p.Units, p.Pattern, p.Module, p.MaxBody, p.Unclean = rt.Cost, rt.Class, rt.Units, rt.Pattern, module, 0, unclean
		return nil
	}
	t.name(p, i, module)
	lo, hi, err := t.bounds(r, i)
	p.Credits, p.MaxBody, p.Unclean = lo, 0, unclean
	if err == nil {
		p.Class = t.class(r, i, lo)
	}
	if hi > lo {
		p.MaxBody = t.bodyToRead(i, lo)
	}
	return err
}

// matchViews prices each of r's readings without its body: p names the
// dearest reading (by the most it can cost; the first, ServeMux's, on a
// tie), costs at least what every reading costs at least, and is in the
// class of the readings that have one, or an ErrClassConflict if they
// name two.
func (t *Table) matchViews(r *http.Request, p *Price, vs *views) error {
	if vs.ambiguous {
		*p = Price{}
		return ErrAmbiguousMethod
	}
	if vs.n == 1 {
		return t.price1(r, p, vs.v[0].route, vs.v[0].module, vs.unclean)
	}
	best, bestHi := 0, int64(-1)
	var cs classes
	p.Credits, p.MaxBody, p.Unclean = 0, 0, vs.unclean
	for k := 0; k < vs.n; k++ {
		lo, hi, err := t.bounds(r, vs.v[k].route)
		if err != nil {
			t.name(p, vs.v[k].route, vs.v[k].module)
			return err
		}
		if hi > bestHi {
			best, bestHi = k, hi
		}
		p.Credits = max(p.Credits, lo)
		cs.add(t.class(r, vs.v[k].route, lo))
	}
	t.name(p, vs.v[best].route, vs.v[best].module)
	for k := 0; k < vs.n; k++ {
		if i := vs.v[k].route; i >= 0 {
			p.Units = max(p.Units, t.routes[i].Units) // as the class: the server may run any reading
		}
		if mb := t.bodyToRead(vs.v[k].route, p.Credits); mb > 0 && (p.MaxBody == 0 || mb < p.MaxBody) {
			p.MaxBody = mb // the tightest: PriceBody reads for each
		}
	}
	if cs.other != "" {
		return cs.err()
	}
	// Which reading the server runs is not known, as for the price: a
	// reading in a capped class holds that class's slot, if the dearest has
	// none (COQL's twin "POST /crm/v8/COQL" is priced as COQL by its loose
	// reading, and ran outside the query cap by ServeMux's, {module}, which
	// could cost more and has no class).
	p.Class = cs.class
	return nil
}

// classes gathers the classes of a request's readings.
type classes struct {
	class string // the first reading's that has one
	other string // another one, "" if none: ErrClassConflict
}

func (cs *classes) add(c string) {
	switch {
	case c == "" || c == cs.class:
	case cs.class == "":
		cs.class = c
	case cs.other == "":
		cs.other = c
	}
}

func (cs *classes) err() error {
	return fmt.Errorf("%w: %q and %q", ErrClassConflict, cs.class, cs.other)
}

// class returns the class of r's reading as route i, which its Pricer
// priced at credits: the route's Class, unless the Pricer's InClass says r
// is not in it (a Pricer with InClass reads no body: see NewTable).
func (t *Table) class(r *http.Request, i int, credits int64) string {
	if i < 0 {
		return ""
	}
	rt := &t.routes[i]
	if in := rt.Pricer.InClass; in == nil || rt.Class == "" || in(r, credits) {
		return rt.Class
	}
	return ""
}

// name sets p's route fields from route i and its module segment.
func (t *Table) name(p *Price, i int, module string) {
	if i < 0 {
		p.Class, p.Units, p.Pattern, p.Module = "", 0, "", ""
		return
	}
	rt := &t.routes[i]
	p.Class, p.Units, p.Pattern, p.Module = rt.Class, rt.Units, rt.Pattern, module
}

// bounds returns what route i costs at least and at most, running its
// Pricer now if it needs no body.
func (t *Table) bounds(r *http.Request, i int) (lo, hi int64, err error) {
	if i < 0 {
		return t.defaultCost, t.defaultCost, nil
	}
	rt := &t.routes[i]
	switch pr := &rt.Pricer; {
	case pr.Func == nil:
		return rt.Cost, rt.Cost, nil
	case pr.MaxBody > 0:
		return pr.Min, rt.hi, nil
	}
	c, err := rt.call(r)
	return c, c, err
}

// bodyToRead returns how much body route i's Pricer reads if the route is
// priced from the body and may cost more than credits, else 0.
func (t *Table) bodyToRead(i int, credits int64) int64 {
	if i < 0 {
		return 0
	}
	if rt := &t.routes[i]; rt.Pricer.Func != nil && rt.hi > credits {
		return rt.Pricer.MaxBody
	}
	return 0
}

// priceBody runs the Pricers of the readings vs that need the body and
// could cost more than p already does, and sets p's class from what they
// computed (a reading not priced from the body keeps the class it had
// before; one whose Pricer did not run, its route's Class).
func (t *Table) priceBody(r *http.Request, p *Price, vs ...view) error {
	credits := p.Credits
	var cs classes
	for _, v := range vs {
		if t.bodyToRead(v.route, credits) == 0 {
			lo, _, _ := t.bounds(r, v.route) // no error: matchViews ran it
			cs.add(t.class(r, v.route, lo))
			continue
		}
		c, err := t.routes[v.route].call(r)
		if err != nil {
			return err
		}
		credits = max(credits, c)
		cs.add(t.class(r, v.route, c))
	}
	p.Credits, p.MaxBody, p.Class = credits, 0, cs.class
	return nil
}

// call runs rt's Pricer and holds its result to the declared bounds.
func (rt *route) call(r *http.Request) (int64, error) {
	c, err := rt.Pricer.Func(r)
	if err != nil {
		return 0, fmt.Errorf("cost: cost of %q: %w", rt.Pattern, err)
	}
	if c < 0 {
		return 0, fmt.Errorf("%w: %q computed %d", ErrNegative, rt.Pattern, c)
	}
	return min(max(c, rt.Pricer.Min), rt.hi), nil
}
