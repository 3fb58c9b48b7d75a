package config

import (
	"strings"
	"testing"
)

// A route whose pattern names a host is refused at its line (an override
// must name a profile route, which names none):
// the gateway proxies every call to one upstream, so a client would pick
// the price by the Host it sends (reviewer-87's TestHostPatternCannotBeDodgedByHost).
func TestHostPatternRefused(t *testing.T) {
	for _, tc := range []struct{ section, entry, where string }{
		{"routes", `{pattern: "POST api.example.com/bulk", cost: 50}`, "costs.routes[0].pattern"},
		{"routes", `{pattern: "example.com/crm/v8/hosted", cost: 9}`, "costs.routes[0].pattern"},
		{"routes", `{pattern: "POST\texample.com/x", cost: 80}`, "costs.routes[0].pattern"},
	} {
		text := "upstream: http://127.0.0.1:9000\ncosts:\n  " + tc.section + ":\n    - " + tc.entry + "\n"
		c, err := Parse("h.yaml", []byte(text))
		if err != nil {
			t.Fatalf("%s: %v", tc.entry, err)
		}
		_, err = Build(c)
		if err == nil || !strings.Contains(err.Error(), tc.where) || !strings.Contains(err.Error(), "names the host") {
			t.Errorf("%s: Build error %v, want one at %s naming the host", tc.entry, err, tc.where)
		}
	}
	for _, p := range []string{"POST /bulk", "/crm/v8/x", "GET /{host}/x"} {
		c, err := Parse("h.yaml", []byte("upstream: http://127.0.0.1:9000\ncosts:\n  profile: none\n  routes:\n    - {pattern: \""+p+"\", cost: 2}\n"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Build(c); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
}
