package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/profile/zoho"
	"github.com/creditgate/creditgate/store"
)

// plans builds the default plan and each tenant's, and checks that every
// class the cost table names has a cap in each (a class without one would run
// uncapped, which is almost always a typo). routeClass says which route of
// the file named a class, to point the error there.
func (b *builder) plans(table *cost.Table, routeClass map[string]string) (store.Plan, map[string]store.Plan) {
	def, ok := b.plan(b.c.Plan, "plan")
	if ok && table != nil {
		b.classCaps(def, "plan", table, routeClass)
		b.unitCaps(def, "plan", table)
	}
	if table != nil {
		b.capsForClasses(b.c.Plan, "plan", table)
	}
	tenants := map[string]store.Plan{}
	for _, t := range b.c.Tenants {
		if t.Tenant == "" {
			b.fail(t.path, "an empty tenant name: requests with no tenant get the top-level plan")
			continue
		}
		if msg := unreachableTenant(t.Tenant, b.c.Limits.MaxKeyBytes); msg != "" {
			b.fail(t.path, "%s: no request can name this tenant", msg)
			continue
		}
		if table != nil {
			b.capsForClasses(t.Spec, t.path, table)
		}
		p, ok := b.plan(merge(b.c.Plan, t.Spec), t.path)
		if !ok {
			continue
		}
		if table != nil {
			b.classCaps(p, t.path, table, routeClass)
			b.unitCaps(p, t.path, table)
		}
		tenants[t.Tenant] = p
	}
	return def, tenants
}

// unreachableTenant says why no request's tenant header can carry name
// ("" if one can): net/http trims a header value's outer blanks and refuses
// control characters in it, and a key longer than limits.max_key_bytes gets
// 400 before any plan is read.
func unreachableTenant(name string, maxKey int) string {
	switch {
	case strings.Trim(name, " \t") != name: // as net/http trims a header value: ASCII blanks only
		return "blanks around the name (header values are trimmed)"
	case strings.ContainsFunc(name, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }):
		return "a control character in the name"
	case len(name) > maxKey:
		return fmt.Sprintf("longer than limits.max_key_bytes (%d bytes)", maxKey)
	}
	return ""
}

// UnderRunningLimits checks e, built from a file for a reload, against
// the limits of the running gateway, which a reload keeps (they need a
// restart): a tenant name longer than the running max_key_bytes is carried
// by no request until then, whatever the file's own max_key_bytes (Build
// checked the names against that one, which the next start applies).
func (e *Effective) UnderRunningLimits(running Limits) error {
	b := &builder{c: e.Config}
	for _, t := range e.Config.Tenants {
		if len(t.Tenant) > running.MaxKeyBytes {
			b.fail(t.path, "longer than limits.max_key_bytes in force (%d bytes; the file's %d needs a restart): no request can name this tenant",
				running.MaxKeyBytes, e.Config.Limits.MaxKeyBytes)
		}
	}
	return b.errs.err()
}

// merge returns top with the fields tenant sets replaced, and its
// sub-concurrency caps merged class by class.
func merge(top, tenant PlanSpec) PlanSpec {
	m := top
	if tenant.Edition != nil {
		m.Edition = tenant.Edition
	}
	if tenant.Licences != nil {
		m.Licences = tenant.Licences
	}
	if tenant.AddOns != nil {
		m.AddOns = tenant.AddOns
	}
	if tenant.Credits != nil {
		m.Credits = tenant.Credits
	}
	if tenant.Window != nil {
		m.Window = tenant.Window
	}
	if tenant.Calendar != nil {
		m.Calendar = tenant.Calendar
	}
	if tenant.Concurrency != nil {
		m.Concurrency = tenant.Concurrency
	}
	if top.SubConcurrency != nil || tenant.SubConcurrency != nil {
		m.SubConcurrency = maps.Clone(top.SubConcurrency)
		if m.SubConcurrency == nil {
			m.SubConcurrency = map[string]int64{}
		}
		maps.Copy(m.SubConcurrency, tenant.SubConcurrency)
	}
	return m
}

// plan builds one plan from its spec; path is "plan" or "tenants.<name>".
func (b *builder) plan(s PlanSpec, path string) (store.Plan, bool) {
	p, ok := b.basePlan(s, path)
	if !ok {
		return p, false
	}
	addOns := int64(0)
	if s.AddOns != nil {
		addOns = max(*s.AddOns, 0)
	}
	if s.Credits != nil {
		if *s.Credits > math.MaxInt64-addOns {
			b.fail(path+".credits", "with add_ons, past the largest pool (%d)", int64(math.MaxInt64))
			return p, false
		}
		p.Credits, p.AddOns = *s.Credits+addOns, addOns
	}
	if s.Window != nil {
		p.Window = *s.Window
	}
	if s.Concurrency != nil {
		p.Concurrency = *s.Concurrency
	}
	if s.Calendar != nil {
		loc, err := time.LoadLocation(s.Calendar.Location)
		if err != nil {
			b.fail(path+".calendar.location", "unknown time zone %q", s.Calendar.Location)
			return p, false
		}
		p.Calendar = &store.Calendar{Reset: s.Calendar.Reset, Location: loc}
	}
	if s.SubConcurrency != nil {
		if p.SubConcurrency == nil {
			p.SubConcurrency = map[string]int64{}
		}
		maps.Copy(p.SubConcurrency, s.SubConcurrency)
	}
	if err := p.Validate(); err != nil {
		b.planError(path, err)
		return p, false
	}
	return p, true
}

// basePlan is the edition's plan for the spec's licences and add-ons, or an
// empty custom plan when the spec gives credits and concurrency instead.
func (b *builder) basePlan(s PlanSpec, path string) (store.Plan, bool) {
	if s.AddOns != nil && *s.AddOns < 0 {
		b.fail(path+".add_ons", "must not be negative")
		return store.Plan{}, false
	}
	switch {
	case s.Edition != nil:
		ed, err := zoho.Lookup(*s.Edition)
		if err != nil {
			b.fail(path+".edition", "unknown edition %q (free, standard, professional, enterprise, ultimate)", *s.Edition)
			return store.Plan{}, false
		}
		licences, addOns := int64(1), int64(0)
		if s.Licences != nil {
			licences = *s.Licences
		}
		if s.AddOns != nil {
			addOns = *s.AddOns
		}
		if licences < 0 {
			b.fail(path+".licences", "must not be negative")
			return store.Plan{}, false
		}
		p, _ := ed.Plan(licences, addOns) // validated by plan, with the overrides
		return p, true
	case s.Licences != nil:
		b.fail(path+".licences", "licences need an edition")
	case s.Credits == nil || s.Concurrency == nil:
		b.fail(path, "a plan needs an edition, or credits and concurrency")
	default:
		return store.Plan{Name: "custom"}, true
	}
	return store.Plan{}, false
}

// planError points a store.PlanError at the field of the spec that caused it.
func (b *builder) planError(path string, err error) {
	var pe *store.PlanError
	if !errors.As(err, &pe) {
		b.fail(path, "%v", err)
		return
	}
	field := "credits"
	switch f := pe.Field; {
	case f == "Window":
		field = "window"
	case f == "Calendar":
		field = "calendar"
	case f == "Concurrency":
		field = "concurrency"
	case strings.HasPrefix(f, "SubConcurrency"):
		field = "sub_concurrency"
		if class, ok := strings.CutPrefix(f, "SubConcurrency["); ok {
			field += "." + strings.TrimSuffix(class, "]")
		}
	}
	b.fail(path+"."+field, "%v", pe.Err)
}

// capsForClasses reports each sub_concurrency cap the file sets in s for a
// class that no route of the table has: it caps nothing (as a cap for none
// would), and is a typo or a class of Zoho's from before they became one,
// complex (bulk, query, convert, mail, composite). The edition's caps are
// not the file's and are not checked.
func (b *builder) capsForClasses(s PlanSpec, path string, table *cost.Table) {
	classes := table.Classes()
	have := "no route has a class"
	if len(classes) > 0 {
		have = "the routes' classes are " + strings.Join(classes, ", ")
	}
	for _, class := range slices.Sorted(maps.Keys(s.SubConcurrency)) {
		if !slices.Contains(classes, class) {
			b.fail(path+".sub_concurrency."+class, "no route has the class %q (%s): its cap caps nothing", class, have)
		}
	}
}

// unitCaps reports each route of the table whose calls take more units of
// their application's concurrency cap than p's: none of them could ever be
// admitted. Units the file set are refused at their line; a profile's (Zoho's
// composite takes 5) draw a warning, since a plan stricter than the
// vendor's may be meant, and an override's units can lower them.
func (b *builder) unitCaps(p store.Plan, path string, table *cost.Table) {
	var profile []string
	for _, r := range table.Routes() {
		if r.Units <= p.Concurrency {
			continue
		}
		if where := b.unitsSetAt(r.Pattern); where != "" {
			b.fail(where, "%q takes %d units of its application's concurrency cap, more than %s.concurrency %d: none of its calls could be admitted",
				r.Pattern, r.Units, path, p.Concurrency)
		} else {
			profile = append(profile, fmt.Sprintf("%s (%d)", r.Pattern, r.Units))
		}
	}
	if n := len(profile); n > 3 {
		profile = append(profile[:3], fmt.Sprintf("%d more", n-3))
	}
	if len(profile) > 0 {
		b.warns = append(b.warns, fmt.Sprintf("%s.concurrency %d is below the units of its application's concurrency cap that calls of %s take: none of them can be admitted (raise the cap, or set their units under costs.overrides)",
			path, p.Concurrency, strings.Join(profile, ", ")))
	}
}

// unitsSetAt is the path of the units the file set for pattern, "" if none.
func (b *builder) unitsSetAt(pattern string) string {
	cs := b.c.Costs
	for _, l := range []struct {
		section string
		routes  []Route
	}{{"costs.overrides", cs.Overrides}, {"costs.routes", cs.Routes}} {
		for i, r := range l.routes {
			if r.Pattern == pattern && r.Units != 0 {
				return fmt.Sprintf("%s[%d].units", l.section, i)
			}
		}
	}
	return ""
}

// classCaps reports each class of the table that p has no cap for.
func (b *builder) classCaps(p store.Plan, path string, table *cost.Table, routeClass map[string]string) {
	for _, class := range table.Classes() {
		if _, ok := p.SubConcurrency[class]; ok {
			continue
		}
		where := path + ".sub_concurrency"
		if r, ok := routeClass[class]; ok {
			where = r + ".class"
		}
		b.fail(where, "class %q has no cap in %s.sub_concurrency (add one: a class without a cap runs uncapped)", class, path)
	}
}
