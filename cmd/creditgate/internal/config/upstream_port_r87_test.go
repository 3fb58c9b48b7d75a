package config

import (
	"errors"
	"strings"
	"testing"
)

// url.Parse checks that a port is digits, nothing more: an upstream at
// port 99999 passed Build, and each admitted call then failed to dial
// ("address 99999: invalid port") and came back 502. serve must refuse it
// at start, naming the field, as hostPort does for listen.
func TestUpstreamPortOutOfRangeRefused(t *testing.T) {
	for _, up := range []string{"http://127.0.0.1:99999", "http://127.0.0.1:65536", "https://api.example.com:123456/crm"} {
		t.Run(up, func(t *testing.T) {
			_, err := Build(mustParse(t, "c.yaml", "upstream: "+up+"\n"))
			if err == nil {
				t.Fatalf("upstream %s accepted", up)
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "c.yaml:1:1: upstream:") {
				t.Errorf("error does not name upstream's place: %v", err)
			}
		})
	}
}

// Go dials port "08080" as 8080: an upstream that spells the listen port
// with a leading zero (or a listen address that does) is the gateway
// itself, which Build refuses for the same port written plainly: each call
// would come back through the gateway, spending credits and slots at every
// turn. IsListen compared the ports as strings.
func TestUpstreamIsTheGatewayPortSpelling(t *testing.T) {
	for _, tc := range []struct{ listen, upstream string }{
		{"127.0.0.1:8080", "http://127.0.0.1:08080"},
		{"127.0.0.1:08080", "http://127.0.0.1:8080"},
		{":8080", "http://localhost:0008080/api"},
	} {
		t.Run(tc.listen+"_"+tc.upstream, func(t *testing.T) {
			_, err := Build(mustParse(t, "c.yaml", "listen: \""+tc.listen+"\"\nupstream: "+tc.upstream+"\n"))
			if err == nil || !strings.Contains(err.Error(), "upstream: the gateway itself") {
				t.Errorf("listen %s, upstream %s: want the gateway-itself refusal, got %v", tc.listen, tc.upstream, err)
			}
		})
	}
}

// Dialling the unspecified address (0.0.0.0, [::]) reaches this machine's
// listeners (Linux connects it to loopback): an upstream at 0.0.0.0 on
// the port the gateway listens on (on loopback or every address) is the
// gateway itself, and Build took it.
func TestUpstreamUnspecifiedIsTheGateway(t *testing.T) {
	for _, tc := range []struct{ listen, upstream string }{
		{":8080", "http://0.0.0.0:8080"},
		{"127.0.0.1:8080", "http://0.0.0.0:8080"},
		{"127.0.0.1:8080", "http://[::]:8080"},
		{"0.0.0.0:8080", "http://[::]:8080"},
	} {
		_, err := Build(mustParse(t, "c.yaml", "listen: \""+tc.listen+"\"\nupstream: "+tc.upstream+"\n"))
		if err == nil || !strings.Contains(err.Error(), "upstream: the gateway itself") {
			t.Errorf("listen %s, upstream %s: want the gateway-itself refusal, got %v", tc.listen, tc.upstream, err)
		}
	}
}
