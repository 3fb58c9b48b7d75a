package config

import (
	"fmt"
	"strings"
	"testing"
)

// A tenant's plan is looked up by the tenant header's value as net/http
// hands it over: with leading and trailing blanks trimmed, and at most
// limits.max_key_bytes long (a longer key gets 400 before any plan is
// read). A tenant named " acme", "acme\t" or longer than max_key_bytes can
// therefore never be charged under its plan: the section is dead, and the
// operator who meant "acme" finds out from acme's bills. Build accepted
// such names without a word; it must refuse them, or at least warn.
func TestTenantNameThatNoRequestCanCarry(t *testing.T) {
	long := strings.Repeat("t", 300) // default max_key_bytes is 256
	for _, name := range []string{" acme", "acme ", "acme\t", long} {
		t.Run(fmt.Sprintf("%.12q", name), func(t *testing.T) {
			c := mustParse(t, "c.yaml", fmt.Sprintf("upstream: http://127.0.0.1:9000\nidentity: {tenant_header: X-Org, trusted_proxies: [10.0.0.0/8]}\ntenants:\n  %q: {edition: free}\n", name))
			e, err := Build(c)
			if err != nil {
				if !strings.Contains(err.Error(), "c.yaml:4:3: tenants.") {
					t.Errorf("refused, but not at the tenant: %v", err)
				}
				return
			}
			for _, w := range e.Warnings {
				if strings.Contains(w, "tenants.") || strings.Contains(w, fmt.Sprintf("%q", name)) {
					return
				}
			}
			t.Errorf("tenant %q, which no request can name, accepted without an error or a warning (warnings: %q)", name, e.Warnings)
		})
	}
}
