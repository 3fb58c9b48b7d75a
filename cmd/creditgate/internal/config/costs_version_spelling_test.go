package config

import (
	"strings"
	"testing"
)

// costs.version spelt otherwise than all or vN (capitals, a space inside
// quotes, an empty string) is refused at costs.version with the value
// quoted, never taken for all nor for a version of no routes; a costs.routes
// entry naming a pattern an override is spread to under version all is
// refused as a profile route (held).
func TestCostsVersionSpellingRefused(t *testing.T) {
	for _, v := range []string{`ALL`, `"all "`, `" all"`, `All`, `V8`, `""`, `"v8 "`} {
		_, err := Build(mustParse(t, "c.yaml", "upstream: http://u\ncosts:\n  version: "+v+"\n"))
		if err == nil || !strings.Contains(err.Error(), "costs.version") || !strings.Contains(err.Error(), "want all or an API version") {
			t.Errorf("version %s: %v", v, err)
		}
	}
	_, err := Build(mustParse(t, "c.yaml", `upstream: http://u
costs:
  overrides:
    - {pattern: "GET /crm/v8/{module}/search", cost: 3}
  routes:
    - {pattern: "GET /crm/v7/{module}/search", cost: 1}
`))
	if err == nil || !strings.Contains(err.Error(), "costs.routes[0].pattern") {
		t.Errorf("a route an override is spread to, listed under routes: %v", err)
	}
}
