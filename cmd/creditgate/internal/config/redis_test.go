package config

import (
	"strings"
	"testing"
	"time"
)

func TestRedisSection(t *testing.T) {
	c := mustParse(t, "c.yaml", `
upstream: http://127.0.0.1:9000
snapshot: {file: /tmp/state}
redis:
  url: redis://127.0.0.1:6379/2
  prefix: "gw:"
  timeout: 250ms
  failure: degraded
  instances: 3
  credit_leasing: 500
`)
	e := mustBuild(t, c)
	want := Redis{URL: "redis://127.0.0.1:6379/2", Prefix: "gw:", Timeout: 250 * time.Millisecond,
		Failure: "degraded", Instances: 3, CreditLeasing: 500}
	if e.Config.Redis != want {
		t.Fatalf("redis = %+v, want %+v", e.Config.Redis, want)
	}
	if len(e.Warnings) != 0 {
		t.Fatalf("warnings = %q", e.Warnings)
	}
	single, nodes, err := ParseRedisURL(want.URL, false)
	if err != nil || nodes != nil || single.Addr != "127.0.0.1:6379" || single.DB != 2 {
		t.Fatalf("ParseRedisURL = %+v, %+v, %v", single, nodes, err)
	}
	single, nodes, err = ParseRedisURL("redis://127.0.0.1:7000?addr=127.0.0.1:7001", true)
	if err != nil || single != nil || len(nodes.Addrs) != 2 {
		t.Fatalf("cluster ParseRedisURL = %+v, %+v, %v", single, nodes, err)
	}
}

// The rest of the section is checked only with a URL: a flag can turn
// Redis off under a file that keeps its settings.
func TestRedisOffSkipsChecks(t *testing.T) {
	c := mustParse(t, "c.yaml", "redis:\n  failure: nonsense\n  instances: 0\n")
	mustBuild(t, c)
	if err := c.Set("redis-url", "redis://127.0.0.1:1", Pos{Source: "flag -redis-url"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(c); err == nil || !strings.Contains(err.Error(), "c.yaml:2:3: redis.failure") {
		t.Fatalf("Build = %v", err)
	}
}

// A URL that does not parse is reported without its password.
func TestRedisURLHidesPassword(t *testing.T) {
	c := mustParse(t, "c.yaml", "redis:\n  url: redis://u:hunter2@127.0.0.1:port/0\n")
	_, err := Build(c)
	if err == nil || !strings.Contains(err.Error(), "c.yaml:2:3: redis.url: want redis://") {
		t.Fatalf("Build = %v", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("the error shows the password: %v", err)
	}
}
