package config

import "testing"

// An IPv4 proxy network written IPv4-mapped, as an IPv6 socket shows its
// peers ("::ffff:10.0.0.0/104", "::ffff:192.0.2.7"), is the IPv4 network:
// the gateway compares peers unmapped, so the mapped form matched no peer,
// and the tenant header (believed only from trusted peers) was never read:
// every call went to one pool.
func TestTrustedProxiesIPv4Mapped(t *testing.T) {
	c := mustParse(t, "c.yaml", `
upstream: http://127.0.0.1:9000
identity:
  tenant_header: X-Org
  trusted_proxies: ["::ffff:10.0.0.0/104", "::ffff:192.0.2.7", "2001:db8::/32"]
`)
	e := mustBuild(t, c)
	var got []string
	for _, p := range e.Trusted {
		got = append(got, p.String())
	}
	want := []string{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("trusted = %v, want %v", got, want)
	}
}
