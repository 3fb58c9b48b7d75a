package config

import (
	"strings"
	"testing"
)

// Go listens on and dials an IPv4-mapped IPv6 address ([::ffff:a.b.c.d])
// as the IPv4 address a.b.c.d. IsListen unmapped only the upstream's
// unspecified address (TestUpstreamMappedUnspecifiedIsTheGateway_r90): a
// listen address spelled mapped, or an upstream spelled mapped against a
// plain listen address, was compared as text, so the gateway was taken as
// its own upstream and each call came back through it. Each pair of one
// host is tried both ways round, with a control on another port; other
// hosts are accepted.
func TestUpstreamIsTheGatewayMappedListen(t *testing.T) {
	build := func(listen, upstream string) error {
		_, err := Build(mustParse(t, "c.yaml", "listen: \""+listen+"\"\nupstream: "+upstream+"\n"))
		return err
	}
	refused := func(listen, upstream string) {
		t.Helper()
		if err := build(listen, upstream); err == nil || !strings.Contains(err.Error(), "upstream: the gateway itself") {
			t.Errorf("listen %s, upstream %s: want the gateway-itself refusal, got %v", listen, upstream, err)
		}
		other := strings.Replace(upstream, ":8080", ":8081", 1)
		if err := build(listen, other); err != nil {
			t.Errorf("listen %s, upstream %s (another port): %v", listen, other, err)
		}
	}
	// Listening on every address, spelled mapped: a loopback upstream.
	for _, tc := range []struct{ listen, upstream string }{
		{"[::ffff:0.0.0.0]:8080", "http://127.0.0.1:8080"},
		{"[::ffff:0.0.0.0]:8080", "http://localhost:8080"},
		{"[::ffff:0:0]:8080", "http://[::1]:8080"},
	} {
		refused(tc.listen, tc.upstream)
	}
	// One host in two spellings, each side listening in turn.
	for _, tc := range []struct{ a, b string }{
		{"[::ffff:10.0.0.5]:8080", "10.0.0.5:8080"},
		{"[::ffff:a00:5]:8080", "10.0.0.5:8080"},
		{"[::ffff:127.0.0.1]:8080", "127.0.0.1:8080"},
		{"[::ffff:127.0.0.1]:8080", "localhost:8080"},
		{"[2001:db8::1]:8080", "[2001:db8:0:0::1]:8080"},
	} {
		refused(tc.a, "http://"+tc.b)
		refused(tc.b, "http://"+tc.a)
	}
	for _, tc := range []struct{ listen, upstream string }{
		{"[::ffff:10.0.0.5]:8080", "http://10.0.0.6:8080"},
		{"10.0.0.5:8080", "http://[::ffff:10.0.0.6]:8080"},
		{"[::ffff:10.0.0.5]:8080", "http://127.0.0.1:8080"},
		{"[::ffff:127.0.0.1]:8080", "http://10.0.0.5:8080"},
	} {
		if err := build(tc.listen, tc.upstream); err != nil {
			t.Errorf("listen %s, upstream %s (another host): %v", tc.listen, tc.upstream, err)
		}
	}
}
