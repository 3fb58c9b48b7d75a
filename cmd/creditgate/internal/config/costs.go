package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/profile/zoho"
)

// RouteInfo describes one route of the effective cost table for people.
type RouteInfo struct {
	Pattern string
	Cost    string // "5", "1..10 (records in data, 1 per 10)"
	Class   string
	Units   int64  // of the application's concurrency cap (0: one)
	Source  string // "zoho v8", "override", "route"
}

// apiVersion is a Zoho API version: v8, or a minor one such as v2.1, which
// the profile prices too.
var apiVersion = regexp.MustCompile(`^v[0-9]{1,3}(\.[0-9]{1,3})?$`)

// costTable builds the table: the profile's routes, the overrides replacing
// some of them, then the file's own routes. It returns nil when anything is
// wrong, and which route of the file named each class.
func (b *builder) costTable() (*cost.Table, []RouteInfo, map[string]string) {
	cs := b.c.Costs
	var base []cost.Route
	source := ""
	switch cs.Profile {
	case "zoho":
		switch {
		case cs.Version == "all": // what a gateway in front of Zoho is sent
			base, source = zoho.AllRoutes(), "zoho"
		case apiVersion.MatchString(cs.Version):
			base, source = zoho.Routes(cs.Version), "zoho "+cs.Version
		default:
			b.fail("costs.version", "want all or an API version such as v8, got %q", cs.Version)
			return nil, nil, nil
		}
	case "none":
	default:
		b.fail("costs.profile", "want zoho or none, got %q", cs.Profile)
		return nil, nil, nil
	}
	if cs.Default < 0 {
		b.fail("costs.default", "must not be negative")
	}
	before := len(b.errs)
	baseRoute := map[string]cost.Route{} // a profile route's pattern: the route
	for _, r := range base {
		baseRoute[r.Pattern] = r
	}
	routeClass := map[string]string{}
	srcOf := map[string]string{}
	overrides := b.fileRoutes("costs.overrides", cs.Overrides, routeClass, srcOf, func(pattern string) string {
		if _, ok := baseRoute[pattern]; !ok {
			return "not a route of the profile: add it under costs.routes"
		}
		return ""
	})
	extra := b.fileRoutes("costs.routes", cs.Routes, routeClass, srcOf, func(pattern string) string {
		if _, ok := baseRoute[pattern]; ok {
			return "already a route of the profile: change it under costs.overrides"
		}
		return ""
	})
	if len(b.errs) > before {
		return nil, nil, nil
	}
	from := map[string]string{} // a pattern a route was spread to: the file's route's
	if cs.Profile == "zoho" && cs.Version == "all" {
		overrides = b.spread(base, overrides, srcOf, from)
		extra = b.spreadRoutes(base, extra, srcOf, from)
		if len(b.errs) > before {
			return nil, nil, nil
		}
	}
	inherit(overrides, baseRoute)
	inherit(extra, nil)
	routes := append(cost.Override(base, overrides...), extra...)
	table, err := cost.NewTable(cs.Default, routes...)
	if err != nil {
		b.fail("costs", "%v%s", err, spreadNote(err, from)) // routes that conflict with each other
		return nil, nil, nil
	}
	return table, b.infos(table, source, srcOf, from), routeClass
}

// infos describes table's routes: source is the profile's, srcOf the file's
// routes' and from the file's route each pattern was spread from.
func (b *builder) infos(table *cost.Table, source string, srcOf, from map[string]string) []RouteInfo {
	routes := table.Routes()
	infos := make([]RouteInfo, 0, len(routes))
	for _, r := range routes {
		src := source
		if s, ok := srcOf[r.Pattern]; ok {
			src = s
		}
		named := r.Pattern
		if o, ok := from[named]; ok {
			named = o
		}
		infos = append(infos, RouteInfo{Pattern: r.Pattern, Cost: describe(r, b.recordsOf(named)), Class: r.Class, Units: r.Units, Source: src})
	}
	return infos
}

// inherit gives each route without a class the class of the profile's
// route of its pattern (an override's cost is the figure, not the class: one
// dropped left the route uncapped by its class's cap), and none to each
// with NoClass; likewise each route without units that route's units (a
// composite call's 5 stay when its cost is overridden).
func inherit(routes []cost.Route, profile map[string]cost.Route) {
	for i, r := range routes {
		switch r.Class {
		case "":
			routes[i].Class = profile[r.Pattern].Class
		case NoClass:
			routes[i].Class = ""
		}
		if r.Units == 0 {
			routes[i].Units = profile[r.Pattern].Units
		}
	}
}

// spread gives, under version all, each override of a profile route to
// that route in every other version too: Zoho's costs do not depend on the
// version, so an override is the figure of the route, and one left to a
// single version let a client pay the profile's figure (and escape the
// override's class) by naming another. Two overrides of one route in
// different versions are refused: which the others take is not for the
// gateway to guess. from gets, for each pattern spread to, the override's.
func (b *builder) spread(base, overrides []cost.Route, srcOf, from map[string]string) []cost.Route {
	byRoute := map[string][]string{} // version-free pattern: the versions' patterns
	for _, r := range base {
		if k := versionFree(r.Pattern); k != "" {
			byRoute[k] = append(byRoute[k], r.Pattern)
		}
	}
	first := map[string]string{} // version-free pattern: the override naming it
	out := append([]cost.Route(nil), overrides...)
	for _, o := range overrides {
		k := versionFree(o.Pattern)
		if k == "" {
			continue
		}
		if other, ok := first[k]; ok {
			b.fail(entryPath("costs.overrides", b.c.Costs.Overrides, o.Pattern)+".pattern", "%q and %q override one route in two versions; "+
				"under costs.version all an override applies to every version: keep one, or set costs.version", other, o.Pattern)
			continue
		}
		first[k] = o.Pattern
		for _, p := range byRoute[k] {
			if p == o.Pattern {
				continue
			}
			r := o
			r.Pattern = p
			out = append(out, r)
			srcOf[p], from[p] = srcOf[o.Pattern], o.Pattern
		}
	}
	return out
}

// spreadRoutes gives, under version all, each of the file's routes under a
// version the profile prices (GET /crm/v8/custom_thing) to its path in
// every version the profile prices, as spread does overrides: one left to
// its version let a client pay the default (and escape the route's class)
// by naming another. A route of the file for another version's path is
// kept; the file's routes of one path in several versions must agree (files
// had to list each before routes spread), two figures are refused: which
// the other versions take is not for the gateway to guess. A route outside
// those paths is left alone. from gets, for each pattern spread to, the
// file's route's.
func (b *builder) spreadRoutes(base, extra []cost.Route, srcOf, from map[string]string) []cost.Route {
	var versions []string // the profile's, in its order
	for _, r := range base {
		if _, v, _, ok := zohoPath(r.Pattern); ok && !slices.Contains(versions, v) {
			versions = append(versions, v)
		}
	}
	file := map[string]Route{} // the file's routes by pattern
	for _, r := range b.c.Costs.Routes {
		file[r.Pattern] = r
	}
	first := map[string]string{} // version-free pattern: the file's first route naming it
	out := append([]cost.Route(nil), extra...)
	for _, r := range extra {
		head, v, tail, ok := zohoPath(r.Pattern)
		if !ok || !slices.Contains(versions, v) {
			continue
		}
		if other, ok := first[head+tail]; ok {
			if !sameFigure(file[other], file[r.Pattern]) {
				b.fail(entryPath("costs.routes", b.c.Costs.Routes, r.Pattern)+".pattern", "%q and %q add one route in two versions at different figures; "+
					"under costs.version all a route applies to every version: keep one, or set costs.version", other, r.Pattern)
			}
			continue
		}
		first[head+tail] = r.Pattern
		for _, w := range versions {
			p := head + w + tail
			if _, given := file[p]; given {
				continue
			}
			c := r
			c.Pattern = p
			out = append(out, c)
			srcOf[p], from[p] = srcOf[r.Pattern], r.Pattern
		}
	}
	return out
}

// spreadNote says which patterns an error of the table names were spread
// from a route of the file, which the error's reader never wrote.
func spreadNote(err error, from map[string]string) string {
	var notes []string
	for _, p := range slices.Sorted(maps.Keys(from)) {
		if strings.Contains(err.Error(), strconv.Quote(p)) {
			notes = append(notes, fmt.Sprintf("%q is %q spread to its version", p, from[p]))
		}
	}
	if len(notes) == 0 {
		return ""
	}
	return " (under costs.version all: " + strings.Join(notes, "; ") + ")"
}

// sameFigure reports whether two of the file's routes price and class a
// call alike.
func sameFigure(a, b Route) bool {
	class := func(r Route) string {
		if r.Class == NoClass {
			return ""
		}
		return r.Class
	}
	if a.Cost != b.Cost || class(a) != class(b) || a.Units != b.Units || (a.Records == nil) != (b.Records == nil) {
		return false
	}
	return a.Records == nil || *a.Records == *b.Records
}

// zohoPath cuts pattern around the API version of a Zoho path, under
// /crm/vN/ or /crm/bulk/vN/: "GET /crm/v8/{module}" is "GET /crm/", "v8"
// and "/{module}". ok is false for a pattern whose path is not one.
func zohoPath(pattern string) (head, version, tail string, ok bool) {
	i := strings.IndexByte(pattern, '/') // past the method and host
	if i < 0 {
		return "", "", "", false
	}
	rest, ok := strings.CutPrefix(pattern[i:], "/crm/")
	if !ok {
		return "", "", "", false
	}
	head = pattern[:i] + "/crm/"
	if r, ok := strings.CutPrefix(rest, "bulk/"); ok {
		rest, head = r, head+"bulk/"
	}
	version, tail, ok = strings.Cut(rest, "/")
	if !ok || !apiVersion.MatchString(version) {
		return "", "", "", false
	}
	return head, version, "/" + tail, true
}

// versionFree is pattern with its API version (v8 in "GET /crm/v8/{module}"
// or "POST /crm/bulk/v8/write") made a blank, or "" if it has none.
func versionFree(pattern string) string {
	head, _, tail, ok := zohoPath(pattern)
	if !ok {
		return ""
	}
	return head + tail
}

// entryPath is the path in the file of the entry of pattern in one of the
// costs lists, section its name.
func entryPath(section string, list []Route, pattern string) string {
	for i, r := range list {
		if r.Pattern == pattern {
			return fmt.Sprintf("%s[%d]", section, i)
		}
	}
	return section
}

// fileRoutes turns the file's routes into cost routes, checking each on its
// own (so that its error points at its line) and against the profile.
func (b *builder) fileRoutes(path string, in []Route, routeClass, srcOf map[string]string, check func(string) string) []cost.Route {
	seen := map[string]bool{}
	out := make([]cost.Route, 0, len(in))
	for i, r := range in {
		p := fmt.Sprintf("%s[%d]", path, i)
		if r.Pattern == "" {
			continue // reported by the decoder
		}
		if seen[r.Pattern] || srcOf[r.Pattern] != "" {
			b.fail(p+".pattern", "pattern %q listed twice", r.Pattern)
			continue
		}
		seen[r.Pattern] = true
		if msg := check(r.Pattern); msg != "" {
			b.fail(p+".pattern", "%q: %s", r.Pattern, msg)
			continue
		}
		cr, ok := b.route(p, r)
		if !ok {
			continue
		}
		if _, err := cost.NewTable(0, cr); err != nil {
			b.fail(p+".pattern", "%v", err)
			continue
		}
		if h := patternHost(r.Pattern); h != "" {
			b.fail(p+".pattern", "%q names the host %q: the gateway sends every call to its one upstream "+
				"whatever Host it names, so the price would be the client's to pick (write the path alone)", r.Pattern, h)
			continue
		}
		if r.Class != "" && r.Class != NoClass {
			if _, ok := routeClass[r.Class]; !ok {
				routeClass[r.Class] = p
			}
		}
		srcOf[r.Pattern] = map[string]string{"costs.overrides": "override", "costs.routes": "route"}[path]
		out = append(out, cr)
	}
	return out
}

func (b *builder) route(p string, r Route) (cost.Route, bool) {
	cr := cost.Route{Pattern: r.Pattern, Cost: r.Cost, Class: r.Class, Units: r.Units}
	if r.Cost < 0 {
		b.fail(p+".cost", "must not be negative")
		return cr, false
	}
	if rec := r.Records; rec != nil {
		ok := true
		for _, x := range []struct {
			name string
			v    int64
		}{{"per_credit", rec.PerCredit}, {"max_credits", rec.MaxCredits}, {"max_body", rec.MaxBody}} {
			if x.v <= 0 {
				b.fail(p+".records."+x.name, "must be positive")
				ok = false
			}
		}
		if rec.Key == "" {
			b.fail(p+".records.key", "must not be empty")
			ok = false
		}
		if !ok {
			return cr, false
		}
		cr.Pricer = cost.RecordsCost(rec.Key, rec.PerCredit, rec.MaxCredits, rec.MaxBody)
	}
	return cr, true
}

// recordsOf finds the file's records pricing of a pattern, if any.
func (b *builder) recordsOf(pattern string) *Records {
	for _, list := range [][]Route{b.c.Costs.Overrides, b.c.Costs.Routes} {
		for _, r := range list {
			if r.Pattern == pattern {
				return r.Records
			}
		}
	}
	return nil
}

// describe says what a route costs.
func describe(r cost.Route, rec *Records) string {
	switch {
	case rec != nil:
		return fmt.Sprintf("1..%d (1 per %d records in %q)", rec.MaxCredits, rec.PerCredit, rec.Key)
	case r.Pricer.Func == nil:
		return fmt.Sprint(r.Cost)
	case r.Pricer.Max > 0:
		return fmt.Sprintf("%d..%d (priced from the request)", r.Pricer.Min, r.Pricer.Max)
	default:
		return fmt.Sprintf("%d.. (priced from the request)", r.Pricer.Min)
	}
}

// patternHost is the host a ServeMux pattern ("[METHOD ][HOST]/[PATH]")
// names, "" for none.
func patternHost(pattern string) string {
	rest := pattern
	if i := strings.IndexAny(rest, " \t"); i >= 0 {
		rest = strings.TrimLeft(rest[i:], " \t")
	}
	if j := strings.IndexByte(rest, '/'); j > 0 {
		return rest[:j]
	}
	return ""
}
