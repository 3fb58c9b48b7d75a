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
		return nil, syntaxError(file, data, err)
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

// yamlError splits a yaml error message ("yaml: line 3: problem", or
// "yaml: problem" with no line) into its line (0 if none) and problem.
var yamlError = regexp.MustCompile(`(?s)^yaml: (?:line (\d+): )?(.*)$`)

// parserProblems are the problems the YAML library's parser reports, as
// opposed to its scanner. The library counts a mark's line from 0 and adds 1
// for scanner errors only, so a parser error's line is one too low, and one
// on line 1 has no line at all (go-yaml issue 205).
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

func splitYAMLError(err error) (line int, problem string) {
	m := yamlError.FindStringSubmatch(err.Error())
	if m == nil {
		return 0, err.Error()
	}
	line, _ = strconv.Atoi(m[1])
	return line, m[2]
}

// syntaxError reports err, which decoding data returned, at the line of
// its fault.
func syntaxError(file string, data []byte, err error) error {
	line, problem := splitYAMLError(err)
	if parserProblems[problem] {
		line++
	}
	line = faultLine(data, max(line, 1), problem)
	return &Error{Pos: Pos{File: file, Line: line, Column: 1}, Msg: "syntax: " + problem}
}

// faultLine returns the first line, at or after from, by whose end data
// already fails with problem: the line of the fault. The library's line is
// never past it, but it is not always it: for a block collection the library
// names the line where the collection starts, for a tab in a scalar's
// indentation the line where the scalar starts, and for a problem of the
// composer (an unknown anchor) or the reader (bad UTF-8) no line. Text after
// the fault cannot change the error, so past the fault every prefix fails:
// a binary search over the lines finds it in a few decodes (three for
// each of 16 steps for 1 MiB).
func faultLine(data []byte, from int, problem string) int {
	ends := lineEnds(data) // ends[k-1] is the length of the first k lines
	failsWith := func(k int, more string) bool {
		var doc yaml.Node
		text := append(data[:ends[k-1]:ends[k-1]], more...)
		err := yaml.NewDecoder(bytes.NewReader(text)).Decode(&doc)
		if err == nil || err == io.EOF {
			return false
		}
		_, p := splitYAMLError(err)
		return p == problem
	}
	// A cut inside a construct that the fault's also in (a flow collection
	// left open) fails the same way before the fault: the library's line,
	// if its prefix fails, is kept.
	lo, hi := min(from, len(ends)), len(ends)
	if failsWith(lo, "") {
		return lo
	}
	// Past it, a cut inside a flow collection (the fault's, or one nested
	// in it) can still fail with the fault's problem: after an entry with
	// no comma, "did not find expected ',' or '}'"; after a comma, "did not
	// find expected node content". What follows the cut changes such a
	// failure, and cannot change one at a fault within the prefix (the
	// library reports the first fault in the text): the prefix must fail
	// the same way with a comma after it, and with a scalar.
	fails := func(k int) bool {
		return failsWith(k, "") && failsWith(k, ",") && failsWith(k, "x")
	}
	for lo+1 < hi { // fails(lo) is false; fails(hi), the whole text, true
		if mid := (lo + hi) / 2; fails(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// lineEnds returns the length of each prefix of data that ends a line, the
// last one len(data). Lines end where the library ends them, so that its
// line numbers and these agree: at LF, CRLF and a lone CR (YAML 1.2's
// breaks), and at NEL, LS and PS (YAML 1.1's, which the library keeps).
func lineEnds(data []byte) []int {
	var ends []int
	for i := 0; i < len(data); i++ {
		n := 0 // the break's length
		switch rest := data[i:]; {
		case rest[0] == '\n', rest[0] == '\r' && !bytes.HasPrefix(rest, []byte("\r\n")):
			n = 1
		case bytes.HasPrefix(rest, []byte("\u0085")):
			n = 2
		case bytes.HasPrefix(rest, []byte("\u2028")), bytes.HasPrefix(rest, []byte("\u2029")):
			n = 3
		}
		if n > 0 {
			i += n - 1
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] < len(data) {
		ends = append(ends, len(data))
	}
	return ends
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
