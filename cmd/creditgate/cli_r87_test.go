package main

import (
	"strings"
	"testing"
)

// serve with a metrics.path the dashboard's ServeMux cannot mount (it is
// /healthz, which the admin listener serves itself) passed check, and serve
// then died with a Go panic and a goroutine dump: exit 2 by accident, with
// no line naming the file and field. check must refuse it, and serve with
// an error, not a panic.
func TestMetricsPathCollisionIsAConfigError(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "m.yaml", "upstream: http://127.0.0.1:1\nlisten: 127.0.0.1:0\ndashboard: {address: '127.0.0.1:0'}\nmetrics:\n  path: /healthz\n")
	code, _, stderr := runCLI(t, nil, "check", f)
	if code != 2 || !strings.Contains(stderr, "m.yaml:5:3: metrics.path") {
		t.Errorf("check: exit %d, stderr %q; want 2 and an error at m.yaml:5:3: metrics.path", code, stderr)
	}
	code, _, stderr = runCLI(t, nil, "serve", "-config", f)
	if strings.Contains(stderr, "panic") || !strings.Contains(stderr, "metrics.path") {
		t.Errorf("serve: exit %d, stderr %.300q; want a configuration error naming metrics.path, not a panic", code, stderr)
	}
}

// check redacts a Redis URL's password (state: redis://u:xxxxx@...), and
// the Redis errors never repeat it; a webhook URL's password was printed as
// it stands in the file, on standard output, for a CI log to keep.
func TestCheckRedactsWebhookPassword(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "w.yaml", "upstream: http://127.0.0.1:1\nalerts:\n  webhook: {url: 'https://alerts:s3cr3t-hook@hooks.example.com/in'}\n")
	code, stdout, stderr := runCLI(t, nil, "check", f)
	if code != 0 {
		t.Fatalf("check: exit %d, %s", code, stderr)
	}
	for _, line := range strings.Split(stdout+stderr, "\n") {
		if strings.Contains(line, "s3cr3t-hook") {
			t.Errorf("check printed the webhook's password: %q", line)
		}
	}
}

// The usage says: Run "creditgate COMMAND -h" for a command's flags; serve,
// check and demo answer -h on standard output with exit 0 (parseFlags).
// config answered -h as a bad usage: on standard error, exit 2.
func TestConfigHelpIsHelp(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		code, stdout, stderr := runCLI(t, nil, "config", arg)
		if code != 0 || !strings.Contains(stdout, "Usage: creditgate config example") {
			t.Errorf("config %s: exit %d, stdout %q, stderr %q; want 0 and the usage on standard output", arg, code, stdout, stderr)
		}
	}
}

// check takes one file: -config or an argument. With both, the argument
// won and -config was dropped without a word: "check -config prod.yaml
// staging.yaml" validated staging alone and said so only in its first line.
func TestCheckConfigFlagAndArgument(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.yaml", "upstream: http://127.0.0.1:1\n")
	b := writeFile(t, dir, "b.yaml", "upstream: http://127.0.0.1:2\n")
	code, stdout, stderr := runCLI(t, nil, "check", "-config", a, b)
	if code != 2 || !strings.Contains(stderr, "one configuration file at most") {
		t.Errorf("check -config a.yaml b.yaml: exit %d, stderr %q, stdout %.80q; want 2 and one configuration file at most", code, stderr, stdout)
	}
}
