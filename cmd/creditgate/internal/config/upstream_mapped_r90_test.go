package config

import (
	"strings"
	"testing"
)

// The unspecified address in its IPv4-mapped spelling, [::ffff:0.0.0.0],
// is dialled by Go as 0.0.0.0 (it is an IPv4 address to net), which Linux
// connects to this machine: an upstream there on the listen port is the
// gateway itself, as 0.0.0.0 is (ff3e3d9), but netip's IsUnspecified is
// false for the mapped form, so Build takes it and every call loops back
// through the gateway. (Checked: an HTTP GET to [::ffff:0.0.0.0]:port
// reaches a server listening on 127.0.0.1:port.)
func TestUpstreamMappedUnspecifiedIsTheGateway_r90(t *testing.T) {
	for _, tc := range []struct{ listen, upstream string }{
		{"127.0.0.1:8080", "http://[::ffff:0.0.0.0]:8080"},
		{":8080", "http://[::ffff:0:0]:8080"},
	} {
		_, err := Build(mustParse(t, "c.yaml", "listen: \""+tc.listen+"\"\nupstream: "+tc.upstream+"\n"))
		if err == nil || !strings.Contains(err.Error(), "upstream: the gateway itself") {
			t.Errorf("listen %s, upstream %s: want the gateway-itself refusal, got %v", tc.listen, tc.upstream, err)
		}
	}
}
