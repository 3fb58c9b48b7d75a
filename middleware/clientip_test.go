package middleware

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func TestClientIPKey(t *testing.T) {
	trusted := prefixes("10.0.0.0/8", "2001:db8:ffff::/48")
	tests := []struct {
		name    string
		c       ClientIP
		remote  string
		headers map[string][]string
		want    string
	}{
		{name: "ipv4 peer", remote: "192.0.2.7:4711", want: "192.0.2.7"},
		{name: "ipv4 bare", remote: "192.0.2.7", want: "192.0.2.7"},
		{name: "ipv4-mapped peer", remote: "[::ffff:192.0.2.7]:80", want: "192.0.2.7"},
		{name: "ipv6 keyed by /64", remote: "[2001:db8:1:2:3:4:5:6]:443", want: "2001:db8:1:2::/64"},
		{name: "ipv6 rotation same key", remote: "[2001:db8:1:2:ffff::1]:443", want: "2001:db8:1:2::/64"},
		{name: "ipv6 zone dropped", remote: "[fe80::1%eth0]:443", want: "fe80::/64"},
		{name: "ipv6 /128", c: ClientIP{IPv6Bits: 128}, remote: "[2001:db8::1]:1", want: "2001:db8::1"},
		{name: "ipv6 /48", c: ClientIP{IPv6Bits: 48}, remote: "[2001:db8:1:2::1]:1", want: "2001:db8:1::/48"},
		{name: "ipv4 /24", c: ClientIP{IPv4Bits: 24}, remote: "192.0.2.7:1", want: "192.0.2.0/24"},
		{name: "garbage remote", remote: "not-an-ip", want: ""},
		{name: "empty remote", remote: "", want: ""},
		{
			name: "xff ignored by default", remote: "192.0.2.7:1",
			headers: map[string][]string{"X-Forwarded-For": {"203.0.113.9"}}, want: "192.0.2.7",
		},
		{
			name: "xff ignored from untrusted peer", c: ClientIP{TrustedProxies: trusted}, remote: "192.0.2.7:1",
			headers: map[string][]string{"X-Forwarded-For": {"203.0.113.9"}}, want: "192.0.2.7",
		},
		{
			name: "xff from trusted peer", c: ClientIP{TrustedProxies: trusted}, remote: "10.1.1.1:1",
			headers: map[string][]string{"X-Forwarded-For": {"203.0.113.9"}}, want: "203.0.113.9",
		},
		{
			name: "xff walks past trusted hops only", c: ClientIP{TrustedProxies: trusted}, remote: "10.1.1.1:1",
			headers: map[string][]string{"X-Forwarded-For": {"6.6.6.6, 203.0.113.9, 10.2.2.2"}}, want: "203.0.113.9",
		},
		{
			name: "xff several lines", c: ClientIP{TrustedProxies: trusted}, remote: "10.1.1.1:1",
			headers: map[string][]string{"X-Forwarded-For": {"6.6.6.6", "203.0.113.9", "10.2.2.2"}}, want: "203.0.113.9",
		},
		{
			name: "xff all trusted gives leftmost", c: ClientIP{TrustedProxies: trusted}, remote: "10.1.1.1:1",
			headers: map[string][]string{"X-Forwarded-For": {"10.9.9.9, 10.2.2.2"}}, want: "10.9.9.9",
		},
		{
			name: "xff garbage hop stops at last trusted", c: ClientIP{TrustedProxies: trusted}, remote: "10.1.1.1:1",
			headers: map[string][]string{"X-Forwarded-For": {"6.6.6.6, bogus, 10.2.2.2"}}, want: "10.2.2.2",
		},
		{
			name: "xff with port and ipv6", c: ClientIP{TrustedProxies: trusted}, remote: "10.1.1.1:1",
			headers: map[string][]string{"X-Forwarded-For": {"[2001:db8:5:6::9]:1234, 203.0.113.9:80"}}, want: "203.0.113.9",
		},
		{
			name: "xff bare ipv6 client", c: ClientIP{TrustedProxies: trusted}, remote: "10.1.1.1:1",
			headers: map[string][]string{"X-Forwarded-For": {"2001:db8:5:6::9"}}, want: "2001:db8:5:6::/64",
		},
		{
			// A proxy that appends X-Forwarded-For passes the client's own
			// Forwarded through: by default it must not be read.
			name: "xff mode ignores forwarded", c: ClientIP{TrustedProxies: trusted}, remote: "10.1.1.1:1",
			headers: map[string][]string{
				"Forwarded":       {`for=198.51.100.1`},
				"X-Forwarded-For": {"203.0.113.9"},
			},
			want: "203.0.113.9",
		},
		{
			name: "xff mode forwarded only", c: ClientIP{TrustedProxies: trusted}, remote: "10.1.1.1:1",
			headers: map[string][]string{"Forwarded": {`for=198.51.100.1`}},
			want:    "10.1.1.1",
		},
		{
			name: "forwarded mode ignores xff", c: ClientIP{TrustedProxies: trusted, UseForwarded: true}, remote: "10.1.1.1:1",
			headers: map[string][]string{
				"Forwarded":       {`for=198.51.100.1;proto=https, for="[2001:db8:ffff::1]:80"`},
				"X-Forwarded-For": {"203.0.113.9"},
			},
			want: "198.51.100.1",
		},
		{
			name: "forwarded mode xff only", c: ClientIP{TrustedProxies: trusted, UseForwarded: true}, remote: "10.1.1.1:1",
			headers: map[string][]string{"X-Forwarded-For": {"203.0.113.9"}},
			want:    "10.1.1.1",
		},
		{
			name: "forwarded quoted comma and case", c: ClientIP{TrustedProxies: trusted, UseForwarded: true}, remote: "10.1.1.1:1",
			headers: map[string][]string{"Forwarded": {`For="198.51.100.1";by="a,b", for=10.3.3.3`}},
			want:    "198.51.100.1",
		},
		{
			name: "forwarded unknown stops walk", c: ClientIP{TrustedProxies: trusted, UseForwarded: true}, remote: "10.1.1.1:1",
			headers: map[string][]string{"Forwarded": {`for=198.51.100.1, for=unknown, for=10.3.3.3`}},
			want:    "10.3.3.3",
		},
		{
			name: "forwarded without for", c: ClientIP{TrustedProxies: trusted, UseForwarded: true}, remote: "10.1.1.1:1",
			headers: map[string][]string{"Forwarded": {`proto=https`}},
			want:    "10.1.1.1",
		},
		{
			// The client sent `for=198.51.100.77;x="`, the proxy appended its
			// own element: the unterminated quote must not swallow it.
			name: "forwarded unterminated quote", c: ClientIP{TrustedProxies: trusted, UseForwarded: true}, remote: "10.1.1.1:1",
			headers: map[string][]string{"Forwarded": {`for=198.51.100.77;x=", for=203.0.113.9`}},
			want:    "203.0.113.9",
		},
		{
			name: "forwarded unterminated quote before quoted hops", c: ClientIP{TrustedProxies: trusted, UseForwarded: true}, remote: "10.1.1.1:1",
			headers: map[string][]string{"Forwarded": {`for=198.51.100.77;x="\", for=6.6.6.6, for="[2001:db8:7:8::1]:80", for=10.3.3.3`}},
			want:    "2001:db8:7:8::/64",
		},
		{
			name: "forwarded unterminated quote all trusted", c: ClientIP{TrustedProxies: trusted, UseForwarded: true}, remote: "10.1.1.1:1",
			headers: map[string][]string{"Forwarded": {`for=198.51.100.77;x=", for=10.3.3.3`}},
			want:    "10.3.3.3",
		},
		{
			name: "forwarded unterminated quote alone", c: ClientIP{TrustedProxies: trusted, UseForwarded: true}, remote: "10.1.1.1:1",
			headers: map[string][]string{"Forwarded": {`for=198.51.100.77;x="`}},
			want:    "10.1.1.1",
		},
		{
			name: "forwarded unterminated quote on earlier line", c: ClientIP{TrustedProxies: trusted, UseForwarded: true}, remote: "10.1.1.1:1",
			headers: map[string][]string{"Forwarded": {`for=198.51.100.77;x="`, `for=10.3.3.3`}},
			want:    "10.3.3.3",
		},
		{
			name: "trusted ipv6 proxy", c: ClientIP{TrustedProxies: trusted}, remote: "[2001:db8:ffff::2]:1",
			headers: map[string][]string{"X-Forwarded-For": {"[2001:db8:7:8::1]"}}, want: "2001:db8:7:8::/64",
		},
		{
			name: "trusted mapped proxy", c: ClientIP{TrustedProxies: trusted}, remote: "[::ffff:10.0.0.1]:1",
			headers: map[string][]string{"X-Forwarded-For": {"192.0.2.55"}}, want: "192.0.2.55",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tt.remote, Header: http.Header{}}
			for k, v := range tt.headers {
				r.Header[k] = v
			}
			assert.Equal(t, tt.want, tt.c.Key(r))
		})
	}
}

func TestClientIPLongChainIsBounded(t *testing.T) {
	c := ClientIP{TrustedProxies: prefixes("10.0.0.0/8")}
	chain := "203.0.113.1"
	for range 1000 {
		chain += ", 10.0.0.1"
	}
	r := &http.Request{RemoteAddr: "10.1.1.1:1", Header: http.Header{"X-Forwarded-For": {chain}}}
	// Only the last maxHops entries are walked; all trusted, so the leftmost of those.
	assert.Equal(t, "10.0.0.1", c.Key(r))
}

// TestClientIPLongChainParsesLittle: the walk used to parse every entry of a
// long chain (and shift a 32-entry buffer for each), so a 1 MB header cost
// thousands of times a normal one. Now at most maxHops entries are parsed.
func TestClientIPLongChainParsesLittle(t *testing.T) {
	var parsed int
	testHookParseNode = func() { parsed++ }
	defer func() { testHookParseNode = nil }()
	trusted := prefixes("10.0.0.0/8")
	long := 100_000
	for _, tc := range []struct {
		name string
		c    ClientIP
		hdr  string
		val  string
		want string
	}{
		{"xff all trusted", ClientIP{TrustedProxies: trusted}, "X-Forwarded-For",
			strings.Repeat("10.0.0.1, ", long) + "10.0.0.2", "10.0.0.1"},
		{"xff client far left", ClientIP{TrustedProxies: trusted}, "X-Forwarded-For",
			"203.0.113.1" + strings.Repeat(", 10.0.0.1", long), "10.0.0.1"},
		{"forwarded all trusted", ClientIP{TrustedProxies: trusted, UseForwarded: true}, "Forwarded",
			strings.Repeat(`for=10.0.0.1;by="a,b", `, long) + "for=10.0.0.2", "10.0.0.1"},
		{"forwarded unterminated", ClientIP{TrustedProxies: trusted, UseForwarded: true}, "Forwarded",
			`x="` + strings.Repeat(", for=10.0.0.1", long), "10.0.0.1"},
	} {
		parsed = 0
		r := &http.Request{RemoteAddr: "10.1.1.1:1", Header: http.Header{tc.hdr: {tc.val}}}
		assert.Equal(t, tc.want, tc.c.Key(r), tc.name)
		assert.LessOrEqual(t, parsed, maxHops, "%s: entries parsed", tc.name)
	}
	// Several lines count together.
	parsed = 0
	lines := make([]string, 100)
	for i := range lines {
		lines[i] = "10.0.0.1, 10.0.0.1"
	}
	r := &http.Request{RemoteAddr: "10.1.1.1:1", Header: http.Header{"X-Forwarded-For": lines}}
	assert.Equal(t, "10.0.0.1", ClientIP{TrustedProxies: trusted}.Key(r))
	assert.Equal(t, maxHops, parsed)
}

func TestIPv4HostPort(t *testing.T) {
	for s, want := range map[string]string{
		"192.0.2.7:4711": "192.0.2.7", "0.0.0.0:0": "0.0.0.0", "255.255.255.255:65535": "255.255.255.255",
		"192.0.2.7": "", "192.0.2.7:": "", "192.0.2.07:1": "", "192.0.2.256:1": "", "1.2.3:4": "",
		"1.2.3.4.5:6": "", "1.2.3.4:123456": "", "1.2.3.4:8x": "", "1.2.3.4:65536": "", "[::1]:80": "", "": "", "1234.1.1.1:1": "",
		"249.250.199.100:1": "249.250.199.100", "1.2.3.4:65535": "1.2.3.4", "1.2.3.260:1": "", "1.2.3.300:1": "",
		"1.2.3.4:99999": "", "1..3.4:1": "", ".1.2.3:4": "", "1.2.3.4:-1": "",
	} {
		host, ok := ipv4HostPort(s)
		assert.Equal(t, want, host, s)
		assert.Equal(t, want != "", ok, s)
	}
}

func TestClientIPv4PeerAllocatesNothing(t *testing.T) {
	r := &http.Request{RemoteAddr: "192.0.2.7:4711", Header: http.Header{}}
	var c ClientIP
	allocs := testing.AllocsPerRun(100, func() { _ = c.Key(r) })
	assert.Zero(t, allocs)
}

// TestClientIPBehindAppendingProxy runs a real reverse proxy (httputil's,
// which appends X-Forwarded-For and passes Forwarded through, as nginx and
// most load balancers do): a client-sent Forwarded must not become the key.
func TestClientIPBehindAppendingProxy(t *testing.T) {
	c := ClientIP{TrustedProxies: prefixes("127.0.0.0/8", "::1/128")}
	got := make(chan string, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- c.Key(r)
	}))
	defer backend.Close()
	u, err := url.Parse(backend.URL)
	require.NoError(t, err)
	req := httptest.NewRequest("GET", "/crm/Leads", nil)
	req.RemoteAddr = "203.0.113.9:5555" // the real client
	req.Header.Set("Forwarded", "for=198.51.100.77")
	httputil.NewSingleHostReverseProxy(u).ServeHTTP(httptest.NewRecorder(), req)
	assert.Equal(t, "203.0.113.9", <-got)
}

func FuzzClientIP(f *testing.F) {
	f.Add("10.1.1.1:1", "6.6.6.6, 203.0.113.9", `for=198.51.100.1;proto=https`, 64)
	f.Add("[2001:db8::1]:80", "[2001:db8::2]:1", `for="[2001:db8::3]:80"`, 128)
	f.Add("10.0.0.1:1", "bogus,,", `for="\"x;,",for=`, 0)
	f.Add("[::ffff:10.0.0.1]:1", "::ffff:1.2.3.4", `for=_hidden;by=unknown`, -5)
	f.Add("192.0.2.255:65535", "", "", 0)
	f.Add("01.2.3.4:5", "", "", 0)
	f.Add("256.1.1.1:80", "", "", 0)
	f.Add("10.0.0.1:1", "", `for=198.51.100.77;x=", for=203.0.113.9`, 1)
	f.Add("10.0.0.1:1", "", `for=1.1.1.1;x="\", for="[2001:db8::1]:80",`, 1)
	f.Fuzz(func(t *testing.T, remote, xff, fwd string, bits int) {
		// The IPv4 fast path agrees with the full parse, and takes every
		// canonical IPv4 address and port.
		host, ok := ipv4HostPort(remote)
		if ok {
			ap, err := netip.ParseAddrPort(remote)
			if err != nil || !ap.Addr().Is4() || ap.Addr().String() != host {
				t.Fatalf("fast path took %q as %q; full parse: %v %v", remote, host, ap, err)
			}
		}
		if ap, err := netip.ParseAddrPort(remote); err == nil && ap.Addr().Is4() && ap.String() == remote && !ok {
			t.Fatalf("fast path refused canonical %q", remote)
		}
		c := ClientIP{TrustedProxies: prefixes("10.0.0.0/8", "2001:db8::/32"), IPv6Bits: bits, UseForwarded: bits%2 != 0}
		r := &http.Request{RemoteAddr: remote, Header: http.Header{}}
		if xff != "" {
			r.Header["X-Forwarded-For"] = []string{xff}
		}
		if fwd != "" {
			r.Header["Forwarded"] = []string{fwd}
		}
		key := c.Key(r)
		if key == "" {
			return
		}
		// Every key is a canonical address or prefix.
		if a, err := netip.ParseAddr(key); err == nil {
			if a.String() != key || a.Is4In6() || a.Zone() != "" {
				t.Fatalf("non-canonical address key %q", key)
			}
			return
		}
		p, err := netip.ParsePrefix(key)
		if err != nil || p.Masked() != p || p.String() != key {
			t.Fatalf("key %q is neither a canonical address nor a masked prefix", key)
		}
	})
}
