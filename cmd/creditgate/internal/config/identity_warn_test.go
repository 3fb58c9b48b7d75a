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

// A tenant header that proxies append to rather than set (X-Forwarded-For,
// Forwarded: each hop adds itself after what the client sent, on the same
// line) keys a pool by the client's text too: a client that sends one gets
// a new pool for each value it makes up, trusted proxies or not. The build
// warns.
func TestTenantHeaderForwardedListWarns(t *testing.T) {
	for _, h := range []string{"X-Forwarded-For", "x-forwarded-for", "Forwarded"} {
		e := mustBuild(t, mustParse(t, "c.yaml", "upstream: http://127.0.0.1:9000\n"+
			"identity: {tenant_header: "+h+", trusted_proxies: [10.0.0.0/8]}\n"))
		if w := strings.Join(e.Warnings, "\n"); !strings.Contains(w, "a new credit pool") {
			t.Errorf("tenant_header %s: warnings %q, want one", h, e.Warnings)
		}
	}
	e := mustBuild(t, mustParse(t, "c.yaml", "upstream: http://127.0.0.1:9000\n"+
		"identity: {tenant_header: X-Real-Ip, trusted_proxies: [10.0.0.0/8]}\n"))
	if len(e.Warnings) != 0 {
		t.Errorf("X-Real-Ip (set, not appended, by proxies): warnings %q", e.Warnings)
	}
}
