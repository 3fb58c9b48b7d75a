package config

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// MaxFileBytes bounds a configuration file.
const MaxFileBytes = 1 << 20

// maxNodes bounds the nodes one parse visits: aliases may point at a large
// node many times over, and visiting each reference must stay cheap.
const maxNodes = 200_000

// decoder walks a YAML (or JSON, a subset of YAML) node tree into a Config,
// collecting every error with its position instead of stopping at the first.
type decoder struct {
	file  string
	cfg   *Config
	errs  Errors
	nodes int
}

// field decodes the value of one key; path is the key's dotted path.
type field func(n *yaml.Node, path string)

func (d *decoder) pos(n *yaml.Node) Pos {
	return Pos{File: d.file, Line: n.Line, Column: n.Column}
}

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{Pos: d.pos(n), Field: path, Msg: fmt.Sprintf(format, args...)})
}

// resolve follows an alias to its anchor and counts the visit against the
// budget; it returns nil once the budget is spent.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.nodes++
	if d.nodes == maxNodes+1 {
		d.errs = append(d.errs, &Error{Pos: Pos{File: d.file}, Msg: "too many nodes (aliases expand past the limit)"})
	}
	if d.nodes > maxNodes {
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// mapping calls fs[key] for each key of the mapping n, refusing unknown and
// repeated keys. A null value (an empty section) decodes as nothing.
func (d *decoder) mapping(n *yaml.Node, path string, fs map[string]field) {
	if n = d.resolve(n); n == nil || isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping of %s", strings.Join(slices.Sorted(maps.Keys(fs)), ", "))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := join(path, k.Value)
		switch {
		case k.Kind != yaml.ScalarNode:
			d.fail(k, path, "keys must be plain names")
			continue
		case k.Tag == "!!merge":
			d.fail(k, path, "merge keys (<<) are not supported")
			continue
		case seen[k.Value]:
			d.fail(k, key, "repeated")
			continue
		}
		seen[k.Value] = true
		f, ok := fs[k.Value]
		if !ok {
			d.fail(k, key, "unknown field (known: %s)", strings.Join(slices.Sorted(maps.Keys(fs)), ", "))
			continue
		}
		d.cfg.mark(key, d.pos(k))
		f(v, key)
	}
}

// entries calls f for each key of a mapping whose keys are names the user
// chooses (tenants, classes), in file order, refusing repeated keys.
func (d *decoder) entries(n *yaml.Node, path string, f func(key string, v *yaml.Node, path string)) {
	if n = d.resolve(n); n == nil || isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping")
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := path + "." + k.Value
		if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
			d.fail(k, path, "keys must be plain names")
			continue
		}
		if seen[k.Value] {
			d.fail(k, key, "repeated")
			continue
		}
		seen[k.Value] = true
		d.cfg.mark(key, d.pos(k))
		f(k.Value, v, key)
	}
}

// sequence calls f for each item of a sequence.
func (d *decoder) sequence(n *yaml.Node, path string, f func(v *yaml.Node, path string)) {
	if n = d.resolve(n); n == nil || isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "want a list")
		return
	}
	for i, v := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		d.cfg.mark(p, d.pos(v))
		f(v, p)
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// scalar returns n's text, or fails: a value that is a mapping, a list or null.
func (d *decoder) scalar(n *yaml.Node, path string) (string, bool) {
	if n = d.resolve(n); n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.fail(n, path, "want a single value")
		return "", false
	}
	return n.Value, true
}

func (d *decoder) str(dst *string) field {
	return func(n *yaml.Node, path string) {
		if s, ok := d.scalar(n, path); ok {
			*dst = s
		}
	}
}

func (d *decoder) integer(n *yaml.Node, path string) (int64, bool) {
	s, ok := d.scalar(n, path)
	if !ok {
		return 0, false
	}
	var v int64
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Tag != "!!int" || n.Decode(&v) != nil {
		d.fail(n, path, "want a whole number, got %q", s)
		return 0, false
	}
	return v, true
}

func (d *decoder) int64p(dst **int64) field {
	return func(n *yaml.Node, path string) {
		if v, ok := d.integer(n, path); ok {
			*dst = &v
		}
	}
}

func (d *decoder) int64v(dst *int64) field {
	return func(n *yaml.Node, path string) {
		if v, ok := d.integer(n, path); ok {
			*dst = v
		}
	}
}

func (d *decoder) intv(dst *int) field {
	return func(n *yaml.Node, path string) {
		if v, ok := d.integer(n, path); ok {
			if v < math.MinInt32 || v > math.MaxInt32 {
				d.fail(n, path, "out of range")
				return
			}
			*dst = int(v)
		}
	}
}

func (d *decoder) boolean(dst *bool) field {
	return func(n *yaml.Node, path string) {
		s, ok := d.scalar(n, path)
		if !ok {
			return
		}
		switch s {
		case "true":
			*dst = true
		case "false":
			*dst = false
		default:
			d.fail(n, path, "want true or false, got %q", s)
		}
	}
}

func (d *decoder) duration(dst *time.Duration) field {
	return func(n *yaml.Node, path string) {
		if s, ok := d.scalar(n, path); ok {
			v, err := parseDuration(s)
			if err != nil {
				d.fail(n, path, "%v", err)
				return
			}
			*dst = v
		}
	}
}

func (d *decoder) durationp(dst **time.Duration) field {
	return func(n *yaml.Node, path string) {
		var v time.Duration
		before := len(d.errs)
		d.duration(&v)(n, path)
		if len(d.errs) == before {
			*dst = &v
		}
	}
}

func (d *decoder) size(dst *int64) field {
	return func(n *yaml.Node, path string) {
		if s, ok := d.scalar(n, path); ok {
			v, err := parseSize(s)
			if err != nil {
				d.fail(n, path, "%v", err)
				return
			}
			*dst = v
		}
	}
}

func (d *decoder) strings(dst *[]string) field {
	return func(n *yaml.Node, path string) {
		*dst = nil
		d.sequence(n, path, func(v *yaml.Node, p string) {
			if s, ok := d.scalar(v, p); ok {
				*dst = append(*dst, s)
			}
		})
	}
}

func (d *decoder) ints(dst *[]int) field {
	return func(n *yaml.Node, path string) {
		*dst = []int{}
		d.sequence(n, path, func(v *yaml.Node, p string) {
			var x int
			before := len(d.errs)
			d.intv(&x)(v, p)
			if len(d.errs) == before {
				*dst = append(*dst, x)
			}
		})
	}
}

// parseDuration reads a Go duration ("90s", "24h"), refusing negative ones.
func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("want a duration such as 30s, 5m or 24h, got %q", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	return v, nil
}

// parseSize reads a byte count: a whole number, optionally with KiB, MiB or GiB.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(strings.ReplaceAll(s, "_", ""))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v < 0 || v > math.MaxInt64/mult {
		return 0, fmt.Errorf("want a size such as 65536, 64KiB or 256MiB, got %q", s)
	}
	return v * mult, nil
}
