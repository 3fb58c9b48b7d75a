package config

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Load reads the file at path over the defaults (see Parse).
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{Pos: Pos{File: path}, Msg: fmt.Sprintf("cannot read: %v", err)}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, &Error{Pos: Pos{File: path}, Msg: fmt.Sprintf("cannot read: %v", err)}
	}
	return Parse(path, data)
}

// Parse reads a YAML or JSON configuration over Default. Every problem is
// reported, each as an *Error naming file, line, column and field; the
// returned error is an Errors. Values are checked for their type here and for
// their meaning by Build.
func Parse(file string, data []byte) (*Config, error) {
	c := Default()
	c.File = file
	if len(data) > MaxFileBytes {
		return nil, &Error{Pos: Pos{File: file}, Msg: fmt.Sprintf("larger than %d bytes", MaxFileBytes)}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		return nil, syntaxError(file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, &Error{Pos: Pos{File: file, Line: extra.Line, Column: extra.Column},
			Msg: "more than one document"}
	}
	d := &decoder{file: file, cfg: c}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		d.mapping(doc.Content[0], "", d.root())
	}
	return c, d.errs.err()
}

// yamlLine finds the line in a yaml error message ("yaml: line 3: ...").
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func syntaxError(file string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{Pos: Pos{File: file, Line: line, Column: 1}, Msg: "syntax: " + m[2]}
	}
	return &Error{Pos: Pos{File: file}, Msg: "syntax: " + msg}
}

func (d *decoder) root() map[string]field {
	c := d.cfg
	return map[string]field{
		"listen":   d.str(&c.Listen),
		"upstream": d.str(&c.Upstream),
		"plan": func(n *yaml.Node, path string) {
			d.planSpec(n, path, &c.Plan)
		},
		"tenants": func(n *yaml.Node, path string) {
			d.entries(n, path, func(key string, v *yaml.Node, p string) {
				t := TenantPlan{Tenant: key, path: p}
				d.planSpec(v, p, &t.Spec)
				c.Tenants = append(c.Tenants, t)
			})
		},
		"costs": func(n *yaml.Node, path string) { d.costs(n, path) },
		"identity": func(n *yaml.Node, path string) {
			id := &c.Identity
			d.mapping(n, path, map[string]field{
				"tenant_header":   d.str(&id.TenantHeader),
				"app_header":      d.str(&id.AppHeader),
				"user_header":     d.str(&id.UserHeader),
				"trusted_proxies": d.strings(&id.TrustedProxies),
				"forwarded":       d.boolean(&id.Forwarded),
			})
		},
		"limits": func(n *yaml.Node, path string) {
			l := &c.Limits
			hdr := int64(l.MaxHeaderBytes)
			d.mapping(n, path, map[string]field{
				"max_tenants":      d.intv(&l.MaxTenants),
				"max_bytes":        d.size(&l.MaxBytes),
				"max_apps":         d.intv(&l.MaxApps),
				"usage_retention":  d.duration(&l.UsageRetention),
				"usage_max_keys":   d.intv(&l.UsageMaxKeys),
				"max_header_bytes": d.size(&hdr),
			})
			l.MaxHeaderBytes = int(min(hdr, 1<<30))
		},
		"dashboard": func(n *yaml.Node, path string) {
			db := &c.Dashboard
			d.mapping(n, path, map[string]field{
				"enabled": d.boolean(&db.Enabled),
				"address": d.str(&db.Address),
				"token":   d.str(&db.Token),
			})
		},
		"metrics": func(n *yaml.Node, path string) {
			m := &c.Metrics
			d.mapping(n, path, map[string]field{
				"enabled":     d.boolean(&m.Enabled),
				"path":        d.str(&m.Path),
				"top_tenants": d.intv(&m.TopTenants),
				"top_apps":    d.intv(&m.TopApps),
			})
		},
		"alerts": func(n *yaml.Node, path string) { d.alerts(n, path) },
		"snapshot": func(n *yaml.Node, path string) {
			d.mapping(n, path, map[string]field{
				"file":     d.str(&c.Snapshot.File),
				"interval": d.duration(&c.Snapshot.Interval),
			})
		},
		"redis": func(n *yaml.Node, path string) {
			d.mapping(n, path, map[string]field{"url": d.str(&c.Redis.URL)})
		},
		"timeouts": func(n *yaml.Node, path string) {
			t := &c.Timeouts
			d.mapping(n, path, map[string]field{
				"read_header":     d.duration(&t.ReadHeader),
				"read":            d.duration(&t.Read),
				"write":           d.duration(&t.Write),
				"idle":            d.duration(&t.Idle),
				"shutdown":        d.duration(&t.Shutdown),
				"upstream_dial":   d.duration(&t.UpstreamDial),
				"upstream_header": d.duration(&t.UpstreamHeader),
			})
		},
		"log": func(n *yaml.Node, path string) {
			d.mapping(n, path, map[string]field{
				"level":  d.str(&c.Log.Level),
				"format": d.str(&c.Log.Format),
			})
		},
	}
}
