package config

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// unreachableTenant (38e78b9) refuses a tenant whose name strings.TrimSpace
// changes, "blanks around the name (header values are trimmed)". But
// net/http trims a header value of ASCII blanks only (space and tab):
// "acme\u00a0" (a no-break space) or "acme\u3000" reaches the middleware
// whole, and is refused with a reason that is not true. Such a tenant can
// be charged, and its section must build.
func TestTenantNameUnicodeBlankReachable_r90(t *testing.T) {
	for _, name := range []string{"acme\u00a0", "\u3000acme", "acme\u0085"} {
		t.Run(fmt.Sprintf("%+q", name), func(t *testing.T) {
			raw := "GET / HTTP/1.1\r\nHost: x\r\nX-Org: " + name + "\r\n\r\n"
			r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
			if err != nil || r.Header.Get("X-Org") != name {
				t.Skipf("net/http does not carry %+q whole: %v %+q", name, err, r.Header.Get("X-Org"))
			}
			c := mustParse(t, "c.yaml", fmt.Sprintf("upstream: http://127.0.0.1:9000\nidentity: {tenant_header: X-Org, trusted_proxies: [10.0.0.0/8]}\ntenants:\n  %q: {edition: free}\n", name))
			if _, err := Build(c); err != nil {
				t.Errorf("tenant %+q, which a request carries whole, refused: %v", name, err)
			}
		})
	}
}
