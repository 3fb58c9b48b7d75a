package config

import (
	"strings"
	"testing"
)

// Two tenants' pools named by a header that every client is believed on
// are open to any client: the build warns, whether trusted_proxies is
// empty or lists a prefix that holds every address of its family (which
// believes the header from every client of that family, as no list
// does). A list of real proxies does not warn.
func TestTenantHeaderBelievedFromEveryClientWarns(t *testing.T) {
	const base = "upstream: http://127.0.0.1:9000\ntenants: {acme: {edition: free}, beta: {edition: ultimate}}\n"
	for _, tc := range []struct {
		identity string
		warn     bool
	}{
		{"identity: {tenant_header: X-Org}", true},
		{"identity: {tenant_header: X-Org, trusted_proxies: [0.0.0.0/0]}", true},
		{"identity: {tenant_header: X-Org, trusted_proxies: [10.0.0.1, \"::/0\"]}", true},
		{"identity: {tenant_header: X-Org, trusted_proxies: [10.0.0.0/8, \"fd00::/8\"]}", false},
	} {
		e := mustBuild(t, mustParse(t, "c.yaml", base+tc.identity+"\n"))
		got := strings.Contains(strings.Join(e.Warnings, "\n"), "believed from every client")
		if got != tc.warn {
			t.Errorf("%s: warnings %q, want a warning: %v", tc.identity, e.Warnings, tc.warn)
		}
	}
}
