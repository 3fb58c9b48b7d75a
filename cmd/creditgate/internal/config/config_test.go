package config

import (
	"errors"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, name, text string) *Config {
	t.Helper()
	c, err := Parse(name, []byte(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func mustBuild(t *testing.T, c *Config) *Effective {
	t.Helper()
	e, err := Build(c)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return e
}

// The example file documents the defaults: parsed, it must be Default with
// its upstream, or the comments and the code have drifted apart.
func TestExampleIsTheDefault(t *testing.T) {
	data, err := os.ReadFile("../../example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, "example.yaml", string(data))
	if c.Upstream != "http://127.0.0.1:9000" {
		t.Fatalf("upstream = %q", c.Upstream)
	}
	got, want := *c, *Default()
	got.Upstream, got.File, got.at, want.at = "", "", nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("example.yaml differs from Default():\n got %+v\nwant %+v", got, want)
	}
	e := mustBuild(t, c)
	if e.Default.Credits != 51_000 || e.Default.Concurrency != 20 || e.Default.SubConcurrency["complex"] != 10 {
		t.Fatalf("default plan = %+v", e.Default)
	}
	if len(e.Routes) < 20 || e.Costs.DefaultCost() != 1 {
		t.Fatalf("cost table: %d routes, default %d", len(e.Routes), e.Costs.DefaultCost())
	}
}

func TestErrorsNameFileLineAndField(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string // substrings, each in the error
	}{
		{"unknown field", "listen: 127.0.0.1:1\nlisten_addr: x\n", []string{"c.yaml:2:1: listen_addr: unknown field"}},
		{"repeated key", "listen: a:1\nlisten: b:2\n", []string{"c.yaml:2:1: listen: repeated"}},
		{"wrong type", "plan:\n  licences: many\n", []string{`c.yaml:2:13: plan.licences: want a whole number, got "many"`}},
		{"quoted number", "plan:\n  licences: \"5\"\n", []string{"c.yaml:2:13: plan.licences: want a whole number"}},
		{"bad duration", "timeouts:\n  idle: forever\n", []string{"c.yaml:2:9: timeouts.idle: want a duration"}},
		{"bad edition", "plan:\n  edition: platinum\n", []string{`c.yaml:2:3: plan.edition: unknown edition "platinum"`}},
		{"licences without edition", "plan:\n  edition: enterprise\ntenants:\n  t1:\n    credits: 10\n    concurrency: 0\n",
			[]string{"c.yaml:6:5: tenants.t1.concurrency: store: concurrency must be positive"}},
		{"route without cost", "costs:\n  routes:\n    - pattern: GET /x\n", []string{"c.yaml:3:7: costs.routes[0]: a route needs a cost or records"}},
		{"override not in profile", "costs:\n  overrides:\n    - pattern: GET /x\n      cost: 2\n",
			[]string{"c.yaml:3:7: costs.overrides[0].pattern:", "not a route of the profile"}},
		{"class without cap", "costs:\n  routes:\n    - pattern: POST /reports\n      cost: 5\n      class: reports\n",
			[]string{"c.yaml:5:7: costs.routes[0].class:", `class "reports" has no cap in plan.sub_concurrency`}},
		{"bad pattern", "costs:\n  routes:\n    - pattern: \"GET /{a\"\n      cost: 5\n", []string{"c.yaml:3:7: costs.routes[0].pattern:"}},
		{"redis url", "redis:\n  url: http://127.0.0.1:6379\n", []string{"c.yaml:2:3: redis.url: want redis://"}},
		{"redis failure", "redis:\n  url: redis://127.0.0.1:6379\n  failure: fail-soft\n  instances: 0\n",
			[]string{`c.yaml:3:3: redis.failure: want fail-closed, fail-open, degraded, got "fail-soft"`, "c.yaml:4:3: redis.instances: want 1 to 10000"}},
		{"redis prefix", "redis:\n  url: redis://127.0.0.1:6379\n  prefix: \"{x}\"\n", []string{"c.yaml:3:3: redis.prefix: want 1 to 256 bytes without braces"}},
		{"dashboard exposed", "dashboard:\n  address: 0.0.0.0:9090\n", []string{"c.yaml:2:3: dashboard.address:", "set dashboard.token"}},
		{"thresholds", "alerts:\n  thresholds: [90, 80, 101]\n", []string{"c.yaml:2:20: alerts.thresholds[1]: thresholds must be in ascending order", "c.yaml:2:24: alerts.thresholds[2]: want 1 to 100"}},
		{"syntax", "plan:\n  edition: [x\n", []string{"c.yaml:", "syntax:"}},
		{"not a mapping", "plan: 5\n", []string{"c.yaml:1:7: plan: want a mapping of"}},
		{"merge key", "base: &b {edition: free}\n", []string{"c.yaml:1:1: base: unknown field"}},
		{"bad upstream", "upstream: ftp://x\n", []string{`c.yaml:1:1: upstream: want an http:// or https:// URL, got "ftp://x"`}},
		// Go dials a URL with a port and no host name on this machine.
		{"upstream without host name", "upstream: \"http://:9000\"\n", []string{`c.yaml:1:1: upstream: no host in "http://:9000"`}},
		// Each call would come back through the gateway, spending credits
		// and slots at every turn until the caps refuse the innermost.
		{"upstream is the gateway", "listen: 127.0.0.1:8080\nupstream: http://localhost:8080/api\n",
			[]string{"c.yaml:2:1: upstream: the gateway itself (listen is 127.0.0.1:8080)"}},
		{"upstream is the gateway on every address", "listen: \":8080\"\nupstream: http://127.0.0.1:8080\n",
			[]string{"c.yaml:2:1: upstream: the gateway itself"}},
		// The sum wraps round to a negative pool: "has no credits" would
		// blame the wrong thing.
		{"credits overflow", "plan:\n  credits: 9223372036854775807\n  add_ons: 10\n  concurrency: 5\n",
			[]string{"c.yaml:2:3: plan.credits: with add_ons, past the largest pool"}},
		// net/http moves Host out of the headers: the key would always be "".
		{"host header", "identity:\n  tenant_header: host\n", []string{"c.yaml:2:3: identity.tenant_header: Host"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("c.yaml", []byte(tc.text))
			if err == nil {
				_, err = Build(c)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

// A syntax error names the line of the fault. The YAML library numbers its
// marks from 0 and adds 1 for scanner errors only, so its parser errors came
// out one line too low (and none at all on line 1); and for a block
// collection it names where the collection starts, not the line that breaks
// it. Each want was counted by hand in its text.
func TestSyntaxErrorLine(t *testing.T) {
	for _, tc := range syntaxLineCases {
		t.Run(tc.name, func(t *testing.T) { checkSyntaxLine(t, tc.text, tc.line) })
	}
}

// syntaxLineCases are TestSyntaxErrorLine's texts, LF-terminated, and the
// line of each one's fault.
var syntaxLineCases = []struct {
	name, text string
	line       int
}{
	// The library's line was right for these: kept.
	{"mapping value in a value", "listen: a\nupstream: b: c\n", 2},
	{"key indented under a scalar", "listen: a\nupstream: http://x\n  plan: {}\n", 3},
	{"unterminated quote", "listen: a\nupstream: \"http://x\nplan: {}\n", 2},
	{"tab as indentation", "listen: a\nplan:\n\tedition: free\n", 3},
	{"key without colon", "listen: a\nupstream: b\nplan\nlog: {}\n", 3},
	{"unknown escape", "listen: a\nupstream: \"x\\q\"\n", 2},
	{"character that starts no token", "listen: a\nupstream: @x\n", 2},
	{"repeated key", "listen: a\nupstream: b\nlisten: c\n", 3},
	// One too low: parser errors.
	{"dedent to a column no mapping uses", "listen: a\nplan:\n  edition: free\n licences: 2\n", 4},
	{"sequence entry in a mapping", "listen: a\nplan:\n  edition: free\n- x\n", 4},
	{"mapping after a top-level sequence", "- a\nlisten: b\n", 2},
	{"flow mapping not closed", "listen: a\nplan: {edition: free\nupstream: b\n", 2},
	{"flow sequence not closed", "listen: a\nalerts:\n  thresholds: [50, 80\n", 3},
	{"JSON without a colon", "{\"listen\": \"a\",\n \"upstream\": \"b\",\n \"plan\" {}}\n", 3},
	{"block scalar dedented", "listen: a\nupstream: |\n  http://x\n y\n", 4},
	// No line at all: a parser error on line 1.
	{"text after a quoted value on line 1", "upstream: 'http://x'y\nlisten: a\n", 1},
	// The start of the enclosing collection, not the fault.
	{"key in a sequence at its column", "listen: a\ncosts:\n  routes:\n    - {pattern: GET /x, cost: 1}\n    cost: 2\n", 5},
	{"route field dedented by one", "listen: a\ncosts:\n  routes:\n    - pattern: GET /x\n      cost: 1\n     class: bulk\n", 6},
	{"nested mapping dedented", "listen: a\nplan:\n  edition: free\n  calendar:\n    reset: 1h\n   location: UTC\n", 6},
	{"tab in a later line", "listen: a\nplan:\n  edition: free\n\tlicences: 2\n", 4},
}

func checkSyntaxLine(t *testing.T, text string, line int) {
	t.Helper()
	_, err := Parse("c.yaml", []byte(text))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v, want a positioned one", err)
	}
	if e.Pos.Line != line || strings.Contains(e.Msg, "yaml:") {
		t.Errorf("error %q, want line %d of\n%q", err, line, text)
	}
}

// JSON goes through the same parser: the same fields, the same positions.
func TestJSON(t *testing.T) {
	js := "{\n\t\"upstream\": \"http://127.0.0.1:9000\",\n\t\"plan\": {\"edition\": \"professional\", \"licences\": 10},\n" +
		"\t\"costs\": {\"overrides\": [{\"pattern\": \"GET /crm/v8/{module}/search\", \"cost\": 3}]}\n}\n"
	e := mustBuild(t, mustParse(t, "c.json", js))
	if e.Default.Credits != 55_000 || e.Default.Concurrency != 15 {
		t.Fatalf("plan = %+v", e.Default)
	}
	found := false
	for _, r := range e.Routes {
		if r.Pattern == "GET /crm/v8/{module}/search" {
			found = r.Cost == "3" && r.Source == "override"
		}
	}
	if !found {
		t.Fatalf("override not applied: %+v", e.Routes)
	}
	_, err := Parse("c.json", []byte("{\n\t\"plan\": {\n\t\t\"licences\": true\n\t}\n}\n"))
	if err == nil || !strings.Contains(err.Error(), "c.json:3:15: plan.licences: want a whole number") {
		t.Fatalf("error = %v", err)
	}
}

func TestTenantPlansMerge(t *testing.T) {
	c := mustParse(t, "c.yaml", `
upstream: http://127.0.0.1:9000
plan:
  edition: enterprise
  licences: 2
  sub_concurrency: {complex: 4, reports: 9}
costs:
  routes:
    - {pattern: "GET /reports", cost: 1, class: reports}
identity:
  tenant_header: X-Org
  trusted_proxies: [10.0.0.0/8, 192.0.2.7]
tenants:
  big:
    licences: 100
  tiny:
    credits: 500
    concurrency: 5
    sub_concurrency: {reports: 1}
  daily:
    calendar: {reset: "00:00", location: America/Los_Angeles}
`)
	e := mustBuild(t, c)
	if p := e.PlanFor("someone"); p.Credits != 52_000 || p.SubConcurrency["complex"] != 4 || p.SubConcurrency["reports"] != 9 || len(p.SubConcurrency) != 2 {
		t.Errorf("default = %+v", p)
	}
	if p := e.PlanFor("big"); p.Credits != 150_000 || p.Concurrency != 20 || p.SubConcurrency["complex"] != 4 {
		t.Errorf("big = %+v", p)
	}
	if p := e.PlanFor("tiny"); p.Credits != 500 || p.Concurrency != 5 || p.SubConcurrency["complex"] != 4 || p.SubConcurrency["reports"] != 1 {
		t.Errorf("tiny = %+v", p)
	}
	if p := e.PlanFor("daily"); p.Calendar == nil || p.Calendar.Location.String() != "America/Los_Angeles" || p.Credits != 52_000 {
		t.Errorf("daily = %+v", p)
	}
	if len(e.Trusted) != 2 || e.Trusted[1].String() != "192.0.2.7/32" {
		t.Errorf("trusted = %v", e.Trusted)
	}
	if len(e.Warnings) != 0 {
		t.Errorf("warnings = %v", e.Warnings)
	}
}

// Flags win over the environment, which wins over the file; an error names
// the flag or variable it came from.
func TestOverlay(t *testing.T) {
	c := mustParse(t, "c.yaml", "listen: 127.0.0.1:1\nupstream: http://file\nsnapshot: {file: /tmp/a}\n")
	env := map[string]string{"CREDITGATE_UPSTREAM": "http://env", "CREDITGATE_SNAPSHOT": "/tmp/env"}
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if err := c.Set("snapshot", "/tmp/flag", Pos{Source: "flag -snapshot"}); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:1" || c.Upstream != "http://env" || c.Snapshot.File != "/tmp/flag" {
		t.Fatalf("got listen %q upstream %q snapshot %q", c.Listen, c.Upstream, c.Snapshot.File)
	}
	if got := c.At("upstream").String(); got != "env CREDITGATE_UPSTREAM" {
		t.Errorf("At(upstream) = %q", got)
	}
	err := c.ApplyEnv(func(k string) string {
		return map[string]string{"CREDITGATE_SNAPSHOT_INTERVAL": "often"}[k]
	})
	if err == nil || !strings.Contains(err.Error(), "env CREDITGATE_SNAPSHOT_INTERVAL: snapshot.interval: want a duration") {
		t.Fatalf("error = %v", err)
	}
	_ = c.Set("listen", "nonsense", Pos{Source: "flag -listen"})
	if _, err := Build(c); err == nil || !strings.Contains(err.Error(), `flag -listen: listen: want host:port`) {
		t.Fatalf("Build error = %v", err)
	}
}

func TestDefaultsRun(t *testing.T) {
	e := mustBuild(t, Default())
	if e.RequireUpstream() == nil || !strings.Contains(e.RequireUpstream().Error(), "upstream: required") {
		t.Fatalf("RequireUpstream = %v", e.RequireUpstream())
	}
	if e.Config.Timeouts.ReadHeader != 10*time.Second || e.Config.Limits.MaxHeaderBytes != 64<<10 {
		t.Fatalf("timeouts %+v", e.Config.Timeouts)
	}
}

// Aliases that point at large nodes many times over are bounded work.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("x: &a {")
	for i := range 1000 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("c" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "_" + strconv.Itoa(i) + ": 1")
	}
	b.WriteString("}\ntenants:\n")
	for i := range 1000 {
		b.WriteString("  t" + strconv.Itoa(i) + ": {sub_concurrency: *a}\n")
	}
	_, err := Parse("bomb.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "too many nodes") {
		t.Fatalf("error = %v", err)
	}
}
