package config

import (
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/creditgate/creditgate/store"
)

// planSpec decodes a plan: the top-level one or a tenant's.
func (d *decoder) planSpec(n *yaml.Node, path string, p *PlanSpec) {
	d.mapping(n, path, map[string]field{
		"edition": func(n *yaml.Node, path string) {
			if s, ok := d.scalar(n, path); ok {
				p.Edition = &s
			}
		},
		"licences":    d.int64p(&p.Licences),
		"add_ons":     d.int64p(&p.AddOns),
		"credits":     d.int64p(&p.Credits),
		"window":      d.durationp(&p.Window),
		"concurrency": d.int64p(&p.Concurrency),
		"calendar": func(n *yaml.Node, path string) {
			cal := &Calendar{Location: "UTC"}
			d.mapping(n, path, map[string]field{
				"reset": func(n *yaml.Node, path string) {
					if s, ok := d.scalar(n, path); ok {
						v, err := parseClock(s)
						if err != nil {
							d.fail(n, path, "%v", err)
							return
						}
						cal.Reset = v
					}
				},
				"location": d.str(&cal.Location),
			})
			p.Calendar = cal
		},
		"sub_concurrency": func(n *yaml.Node, path string) {
			if p.SubConcurrency == nil {
				p.SubConcurrency = map[string]int64{}
			}
			d.entries(n, path, func(class string, v *yaml.Node, path string) {
				if class == NoClass {
					d.fail(v, path, "none is not a class (a route's class: none means no class): a cap for it caps nothing")
					return
				}
				if x, ok := d.integer(v, path); ok {
					p.SubConcurrency[class] = x
				}
			})
		},
	})
}

func (d *decoder) costs(n *yaml.Node, path string) {
	cs := &d.cfg.Costs
	routes := func(dst *[]Route) field {
		return func(n *yaml.Node, path string) {
			d.sequence(n, path, func(v *yaml.Node, p string) {
				*dst = append(*dst, d.route(v, p))
			})
		}
	}
	d.mapping(n, path, map[string]field{
		"profile":   d.str(&cs.Profile),
		"version":   d.str(&cs.Version),
		"default":   d.int64v(&cs.Default),
		"overrides": routes(&cs.Overrides),
		"routes":    routes(&cs.Routes),
	})
}

func (d *decoder) route(n *yaml.Node, path string) Route {
	var r Route
	costSet := false
	d.mapping(n, path, map[string]field{
		"pattern": d.str(&r.Pattern),
		"cost": func(n *yaml.Node, path string) {
			costSet = true
			d.int64v(&r.Cost)(n, path)
		},
		"class": func(n *yaml.Node, path string) {
			s, ok := d.scalar(n, path)
			if !ok {
				return
			}
			if t := strings.TrimSpace(s); t == "" || s != NoClass && strings.EqualFold(t, NoClass) {
				d.fail(n, path, "%q is not a class: write none for no class, or leave class out (an override then keeps the profile's)", s)
				return
			}
			r.Class = s
		},
		"units": func(n *yaml.Node, path string) {
			if v, ok := d.integer(n, path); ok && (v < 1 || v > store.MaxUnits) {
				d.fail(n, path, "want a whole number from 1 to %d (the units of its application's concurrency cap a call takes), got %d", int64(store.MaxUnits), v)
			} else if ok {
				r.Units = v
			}
		},
		"records": func(n *yaml.Node, path string) {
			rec := &Records{Key: "data", PerCredit: 10, MaxCredits: 10, MaxBody: 4 << 20}
			d.mapping(n, path, map[string]field{
				"key":         d.str(&rec.Key),
				"per_credit":  d.int64v(&rec.PerCredit),
				"max_credits": d.int64v(&rec.MaxCredits),
				"max_body":    d.size(&rec.MaxBody),
			})
			r.Records = rec
		},
	})
	if r.Pattern == "" {
		d.fail(n, path, "a route needs a pattern")
	}
	if !costSet && r.Records == nil {
		d.fail(n, path, "a route needs a cost or records")
	}
	if costSet && r.Records != nil {
		d.fail(n, path, "a route has a cost or records, not both")
	}
	return r
}

func (d *decoder) alerts(n *yaml.Node, path string) {
	a := &d.cfg.Alerts
	w := &a.Webhook
	d.mapping(n, path, map[string]field{
		"thresholds": d.ints(&a.Thresholds),
		"webhook": func(n *yaml.Node, path string) {
			d.mapping(n, path, map[string]field{
				"url":             d.str(&w.URL),
				"timeout":         d.duration(&w.Timeout),
				"max_attempts":    d.intv(&w.MaxAttempts),
				"initial_backoff": d.duration(&w.InitialBackoff),
				"max_backoff":     d.duration(&w.MaxBackoff),
				"queue":           d.intv(&w.Queue),
			})
		},
	})
}

func (d *decoder) tenants(n *yaml.Node, path string) {
	d.entries(n, path, func(key string, v *yaml.Node, p string) {
		t := TenantPlan{Tenant: key, path: p}
		d.planSpec(v, p, &t.Spec)
		d.cfg.Tenants = append(d.cfg.Tenants, t)
	})
}

func (d *decoder) identity() map[string]field {
	id := &d.cfg.Identity
	return map[string]field{
		"tenant_header":   d.str(&id.TenantHeader),
		"app_header":      d.str(&id.AppHeader),
		"user_header":     d.str(&id.UserHeader),
		"trusted_proxies": d.strings(&id.TrustedProxies),
		"forwarded":       d.boolean(&id.Forwarded),
	}
}

func (d *decoder) limits(n *yaml.Node, path string) {
	l := &d.cfg.Limits
	hdr := int64(l.MaxHeaderBytes)
	headerBytes := func(n *yaml.Node, path string) {
		v := hdr
		before := len(d.errs)
		d.size(&v)(n, path)
		if len(d.errs) > before {
			return
		}
		if v < 1<<10 || v > 1<<20 { // Build's range, said here with the file's figure (an int may not hold it)
			d.fail(n, path, "want 1024 to 1048576, got %d", v)
			return
		}
		hdr = v
	}
	d.mapping(n, path, map[string]field{
		"max_tenants":      d.intv(&l.MaxTenants),
		"max_bytes":        d.size(&l.MaxBytes),
		"max_apps":         d.intv(&l.MaxApps),
		"usage_retention":  d.duration(&l.UsageRetention),
		"usage_max_keys":   d.intv(&l.UsageMaxKeys),
		"max_header_bytes": headerBytes,
		"max_key_bytes":    d.intv(&l.MaxKeyBytes),
		"pricing_budget":   d.size(&l.PricingBudget),
	})
	l.MaxHeaderBytes = int(hdr) // within 1 KiB to 1 MiB: checked above
}

func (d *decoder) dashboard() map[string]field {
	db := &d.cfg.Dashboard
	return map[string]field{
		"enabled": d.boolean(&db.Enabled),
		"address": d.str(&db.Address),
		"token":   d.str(&db.Token),
	}
}

func (d *decoder) metrics() map[string]field {
	m := &d.cfg.Metrics
	return map[string]field{
		"enabled":     d.boolean(&m.Enabled),
		"path":        d.str(&m.Path),
		"top_tenants": d.intv(&m.TopTenants),
		"top_apps":    d.intv(&m.TopApps),
	}
}

func (d *decoder) snapshot() map[string]field {
	return map[string]field{
		"file":     d.str(&d.cfg.Snapshot.File),
		"interval": d.duration(&d.cfg.Snapshot.Interval),
	}
}

func (d *decoder) redis() map[string]field {
	r := &d.cfg.Redis
	return map[string]field{
		"url":            d.str(&r.URL),
		"cluster":        d.boolean(&r.Cluster),
		"prefix":         d.str(&r.Prefix),
		"timeout":        d.duration(&r.Timeout),
		"failure":        d.str(&r.Failure),
		"instances":      d.intv(&r.Instances),
		"credit_leasing": d.int64v(&r.CreditLeasing),
	}
}

func (d *decoder) timeouts() map[string]field {
	t := &d.cfg.Timeouts
	return map[string]field{
		"read_header":     d.duration(&t.ReadHeader),
		"read":            d.duration(&t.Read),
		"write":           d.duration(&t.Write),
		"idle":            d.duration(&t.Idle),
		"shutdown":        d.duration(&t.Shutdown),
		"upstream_dial":   d.duration(&t.UpstreamDial),
		"upstream_header": d.duration(&t.UpstreamHeader),
	}
}
