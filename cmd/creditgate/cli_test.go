package main

import (
	"regexp"
	"strings"
	"testing"
)

// A bad configuration stops serve and check with exit code 2 and an error
// naming the file, line and field (or the flag or variable).
func TestBadConfigsExit2(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		file string // YAML, "" for none
		env  []string
		args []string
		want string
	}{
		{name: "type", file: "upstream: http://127.0.0.1:1\nplan:\n  edition: enterprise\n  licences: ten\n",
			want: "bad.yaml:4:13: plan.licences: want a whole number"},
		{name: "unknown field", file: "upstream: http://127.0.0.1:1\ntimeout:\n  read: 5s\n",
			want: "bad.yaml:2:1: timeout: unknown field"},
		{name: "syntax", file: "upstream: http://127.0.0.1:1\nplan:\n  edition: enterprise\n licences: 2\n",
			want: "bad.yaml:4:1: syntax: did not find expected key"},
		{name: "plan", file: "upstream: http://127.0.0.1:1\nplan:\n  credits: 0\n  concurrency: 3\n",
			want: "bad.yaml:3:3: plan.credits: store: plan has no credits"},
		{name: "redis flag", args: []string{"-redis-url", "http://127.0.0.1:6379"},
			want: "flag -redis-url: redis.url: want redis://"},
		{name: "redis mode", file: "upstream: http://127.0.0.1:1\nredis:\n  url: redis://127.0.0.1:1\n  failure: maybe\n",
			want: "bad.yaml:4:3: redis.failure: want fail-closed, fail-open, degraded"},
		{name: "env", env: []string{"CREDITGATE_SNAPSHOT_INTERVAL=soon"},
			want: "env CREDITGATE_SNAPSHOT_INTERVAL: snapshot.interval: want a duration"},
		{name: "missing file", args: []string{"-config", dir + "/nope.yaml"}, want: "nope.yaml: cannot read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.file != "" {
				args = append([]string{"-config", writeFile(t, dir, "bad.yaml", tc.file)}, args...)
			}
			for _, cmd := range []string{"serve", "check"} {
				all := append([]string{cmd, "-upstream", "http://127.0.0.1:1", "-listen", "127.0.0.1:0", "-dashboard", "off"}, args...)
				code, _, stderr := runCLI(t, tc.env, all...)
				if code != 2 || !strings.Contains(stderr, tc.want) {
					t.Errorf("%s: exit %d, stderr %q; want 2 and %q", cmd, code, stderr, tc.want)
				}
			}
		})
	}
	if code, _, stderr := runCLI(t, nil, "serve", "-dashboard", "off"); code != 2 || !strings.Contains(stderr, "upstream: required") {
		t.Errorf("serve without an upstream: exit %d, %q", code, stderr)
	}
	good := writeFile(t, dir, "good.yaml", "upstream: http://127.0.0.1:1\n")
	if code, _, stderr := runCLI(t, nil, "check", good, "-listen", "nowhere"); code != 2 || !strings.Contains(stderr, "flag -listen: listen: want host:port") {
		t.Errorf("check FILE -listen: exit %d, %q", code, stderr)
	}
	if code, _, _ := runCLI(t, nil, "frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
}

func TestCheckPrintsThePlan(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "gw.yaml", `
upstream: http://127.0.0.1:9000
identity: {tenant_header: X-Org, trusted_proxies: [127.0.0.1]}
plan: {edition: professional, licences: 20}
tenants:
  acme: {add_ons: 10000}
costs:
  overrides:
    - {pattern: "GET /crm/v8/{module}/search", cost: 3}
  routes:
    - {pattern: "POST /crm/v8/reports/run", cost: 25, class: complex}
`)
	code, stdout, stderr := runCLI(t, nil, "check", cfg, "-redis-url", "redis://gw:s3cret@10.0.0.5:6379/1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout, "s3cret") {
		t.Errorf("check prints the Redis password:\n%s", stdout)
	}
	for _, want := range []string{
		"gw.yaml: valid",
		"plan:     professional: 60000 credits per 24h0m0s (rolling), 15 in flight per application, per class: complex 10",
		`tenant "acme": professional: 70000 credits`,
		"tenants:  named by header X-Org",
		"GET /crm/v8/{module}/search", "override",
		"POST /crm/v8/reports/run", "route",
		"POST /crm/v8/coql", "1..3 (priced from the request)", "complex",
		"POST /crm/bulk/v8/write", "500",
		`state:    shared in Redis at redis://gw:xxxxx@10.0.0.5:6379/1 (prefix "cg:", timeout 500ms, fail-closed)`,
		"snapshot: not used (Redis holds the state)",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("check output lacks %q:\n%s", want, stdout)
		}
	}
}

// The printed example is a valid configuration: check accepts it.
func TestConfigExample(t *testing.T) {
	code, example, _ := runCLI(t, nil, "config", "example")
	if code != 0 || example != string(exampleYAML) {
		t.Fatalf("config example: exit %d, %d bytes", code, len(example))
	}
	cfg := writeFile(t, t.TempDir(), "example.yaml", example)
	code, stdout, stderr := runCLI(t, nil, "check", cfg)
	if code != 0 || !strings.Contains(stdout, "enterprise: 51000 credits per 24h0m0s") {
		t.Fatalf("check example: exit %d\n%s%s", code, stdout, stderr)
	}
}

// Each command's -h is help asked for, as the top-level --help is: its
// usage on standard output and exit 0. A flag the command does not have is
// one line on standard error, naming the command and the flag, and exit 2.
func TestCommandHelpAndBadFlags(t *testing.T) {
	for _, cmd := range []string{"serve", "check", "demo"} {
		code, stdout, stderr := runCLI(t, nil, cmd, "-h")
		if code != 0 || !strings.HasPrefix(stdout, "Usage: creditgate "+cmd+" [flags]") || stderr != "" {
			t.Errorf("%s -h: exit %d, stdout %q, stderr %q; want 0 and the usage on stdout", cmd, code, stdout, stderr)
		}
		code, stdout, stderr = runCLI(t, nil, cmd, "-no-such-flag")
		want := "creditgate " + cmd + ": flag provided but not defined: -no-such-flag"
		if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, want) {
			t.Errorf("%s -no-such-flag: exit %d, stderr %q; want 2 and one line starting %q", cmd, code, stderr, want)
		}
	}
}

// check lists an override that sets a cost but no class with the class the
// profile gave its route, in every version it is spread to: the listing
// showed "-" for the bulk read job overridden to 80, which ran uncapped.
// The composite request's units are kept likewise.
func TestCheckListsAnOverridesKeptClass(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "gw.yaml", `
upstream: http://127.0.0.1:9000
costs:
  overrides:
    - {pattern: "POST /crm/bulk/v8/read", cost: 80}
    - {pattern: "POST /crm/v8/__composite_requests", cost: 3}
`)
	code, stdout, stderr := runCLI(t, nil, "check", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, v := range []string{"v8", "v2"} {
		row := regexp.MustCompile(`POST /crm/bulk/` + v + `/read\s+80\s+complex\s+1\s+override\n`) // 1: its units
		if !row.MatchString(stdout) {
			t.Errorf("check output lacks %s's bulk read at 80, class complex, from override:\n%s", v, stdout)
		}
		row = regexp.MustCompile(`POST /crm/` + v + `/__composite_requests\s+3\s+complex\s+5\s+override\n`)
		if !row.MatchString(stdout) {
			t.Errorf("check output lacks %s's composite at 3, class complex, 5 units, from override:\n%s", v, stdout)
		}
	}
}
