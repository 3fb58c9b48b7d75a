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
		"listen":    d.str(&c.Listen),
		"upstream":  d.str(&c.Upstream),
		"plan":      func(n *yaml.Node, path string) { d.planSpec(n, path, &c.Plan) },
		"tenants":   d.tenants,
		"costs":     d.costs,
		"identity":  d.section(d.identity),
		"limits":    d.limits,
		"dashboard": d.section(d.dashboard),
		"metrics":   d.section(d.metrics),
		"alerts":    d.alerts,
		"snapshot":  d.section(d.snapshot),
		"redis":     d.section(d.redis),
		"timeouts":  d.section(d.timeouts),
		"log": d.section(func() map[string]field {
			return map[string]field{"level": d.str(&c.Log.Level), "format": d.str(&c.Log.Format)}
		}),
	}
}

// section decodes a mapping whose fields fs returns.
func (d *decoder) section(fs func() map[string]field) field {
	return func(n *yaml.Node, path string) { d.mapping(n, path, fs()) }
}
