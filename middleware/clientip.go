package middleware

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP derives the key that stands for a caller's network address, for per-IP
// statistics and limits.
//
// The zero value uses the connection's peer address (Request.RemoteAddr) and
// never looks at Forwarded or X-Forwarded-For: those headers are written by the
// client and trusting them from anyone lets every request claim a new address.
// List the proxies in front of the server in TrustedProxies; when the peer is one
// of them, the forwarding chain is walked from right to left, past every trusted
// hop, and the first untrusted address is the client. Only one forwarding
// header is read: X-Forwarded-For, or RFC 7239 Forwarded when UseForwarded is
// set. Say which one your proxies write: a proxy passes the other one through
// as the client sent it, so believing whichever is present would let a client
// pick its own address.
//
// IPv6 clients are keyed by their /64 prefix (IPv6Bits, default 64) because a
// single host usually owns a whole /64 and can rotate through it at will; IPv4
// clients by their full address (IPv4Bits, default 32). Keys are canonical
// netip forms: "192.0.2.1", "2001:db8:1:2::/64".
//
// ClientIP is a value; its Key method is a [KeyFunc] and safe for concurrent use.
type ClientIP struct {
	// TrustedProxies are the networks whose forwarding headers are believed.
	// Addresses are matched unmapped, so IPv4 networks are written as such
	// (WithTrustedProxies converts IPv4-mapped ones).
	TrustedProxies []netip.Prefix
	// IPv6Bits is the prefix length IPv6 clients are keyed by; 0 means 64, 128
	// keys each address on its own.
	IPv6Bits int
	// IPv4Bits is the prefix length IPv4 clients are keyed by; 0 means 32.
	IPv4Bits int
	// UseForwarded reads the RFC 7239 Forwarded header instead of
	// X-Forwarded-For; set it only when the trusted proxies write Forwarded.
	UseForwarded bool
}

// maxHops bounds how many forwarding entries are parsed and walked.
// X-Forwarded-For is read from its right end, so a header with thousands of
// entries costs no more than a normal one; Forwarded, whose quoted-strings
// may hide commas, costs one byte scan of its length but still parses only
// the last maxHops elements.
const maxHops = 32

// Key returns the client key for r; "" when RemoteAddr cannot be parsed (a
// request built by hand in a test, or a Unix socket peer).
func (c ClientIP) Key(r *http.Request) string {
	if len(c.TrustedProxies) == 0 && (c.IPv4Bits == 0 || c.IPv4Bits == 32) {
		// The common case, an IPv4 peer keyed as is, without a full parse.
		if host, ok := ipv4HostPort(r.RemoteAddr); ok {
			return host
		}
	}
	peer, host, ok := parseRemoteAddr(r.RemoteAddr)
	if !ok {
		return ""
	}
	peer = peer.Unmap()
	if len(c.TrustedProxies) == 0 || !c.trusted(peer) {
		return c.format(peer, host)
	}
	w := hopWalk{c: &c, client: peer}
	if c.UseForwarded {
		w.forwarded(r.Header.Values("Forwarded"))
	} else {
		w.xForwardedFor(r.Header.Values("X-Forwarded-For"))
	}
	return c.format(w.client, "")
}

// hopWalk walks a forwarding chain from the right, past trusted hops.
type hopWalk struct {
	c      *ClientIP
	client netip.Addr // the peer, then the last hop walked
	n      int        // hops visited
}

// visit takes the next hop to the left and reports whether to go on.
func (w *hopWalk) visit(h netip.Addr) bool {
	w.n++
	if !h.IsValid() {
		// An unknown or obfuscated hop: nobody we trust vouches for
		// anything left of it, so the last trusted hop is the client.
		return false
	}
	w.client = h
	return w.c.trusted(h) && w.n < maxHops
}

// xForwardedFor walks the X-Forwarded-For hops, the header lines in order,
// from the right; a hop that does not parse ends the walk.
func (w *hopWalk) xForwardedFor(vals []string) {
	for i := len(vals) - 1; i >= 0; i-- {
		v := vals[i]
		for {
			j := strings.LastIndexByte(v, ',')
			if !w.visit(parseNode(strings.TrimSpace(v[j+1:]))) {
				return
			}
			if j < 0 {
				break
			}
			v = v[:j]
		}
	}
}

// forwarded walks the for= parameters of RFC 7239 Forwarded elements, the
// header lines in order, from the right; an element without for= counts as
// an unknown hop.
func (w *hopWalk) forwarded(vals []string) {
	for i := len(vals) - 1; i >= 0; i-- {
		if !w.forwardedLine(vals[i]) {
			return
		}
	}
}

func (w *hopWalk) forwardedLine(v string) bool {
	// One pass finds the element boundaries (commas outside quoted-strings),
	// keeping the last maxHops: the walk never needs more.
	var commas [maxHops]int
	n, quoted := 0, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			commas[n%maxHops] = i
			n++
		}
	}
	if quoted {
		// An unterminated quoted-string, from the client, would swallow
		// the elements the proxies appended after it. Walk only the
		// rightmost comma-separated pieces that are well-formed on their
		// own (what the proxies wrote); the first other piece is an
		// unknown hop, so nothing left of it is believed.
		for end := len(v); ; {
			j := strings.LastIndexByte(v[:end], ',')
			piece := v[j+1 : end]
			if !quotesClosed(piece) {
				return w.visit(netip.Addr{})
			}
			if !w.visit(forwardedElem(piece)) {
				return false
			}
			if j < 0 {
				return true // not reached: v is unterminated, so a piece is
			}
			end = j
		}
	}
	end := len(v)
	for k := n - 1; ; k-- {
		start := 0
		if k >= 0 {
			if n-1-k >= maxHops {
				return false // not reached: visit stops after maxHops
			}
			start = commas[k%maxHops] + 1
		}
		if !w.visit(forwardedElem(v[start:end])) {
			return false
		}
		if k < 0 {
			return true
		}
		end = start - 1
	}
}

// forwardedElem returns the for= node of one Forwarded element.
func forwardedElem(elem string) netip.Addr {
	var hop netip.Addr
	for rest := elem; len(rest) > 0; {
		var pair string
		pair, rest = splitQuoted(rest, ';')
		k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "for") {
			hop = parseNode(unquote(strings.TrimSpace(val)))
		}
	}
	return hop
}

func (c ClientIP) trusted(a netip.Addr) bool {
	for _, p := range c.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// format renders a as a key. host, when not empty, is a's textual form as it
// came in, returned as is when already canonical so that the common case (an
// IPv4 peer) allocates nothing.
func (c ClientIP) format(a netip.Addr, host string) string {
	a = a.Unmap().WithZone("")
	bits := c.IPv4Bits
	if bits <= 0 || bits > 32 {
		bits = 32
	}
	if a.Is6() {
		bits = c.IPv6Bits
		if bits <= 0 || bits > 128 {
			bits = 64
		}
	}
	if bits == a.BitLen() {
		if a.Is4() && host != "" && !strings.Contains(host, ":") {
			return host // netip rejects leading zeros, so host is canonical
		}
		return a.String()
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return a.String()
	}
	return p.String()
}

// parseRemoteAddr accepts "host:port", "[v6]:port" and a bare address.
func parseRemoteAddr(s string) (netip.Addr, string, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil { // the common case, in one pass
		return ap.Addr(), s[:strings.LastIndexByte(s, ':')], true
	}
	host := s
	if h, _, err := net.SplitHostPort(s); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, "", false
	}
	return a, host, true
}

// quotesClosed reports whether every quoted-string in s is terminated.
func quotesClosed(s string) bool {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		}
	}
	return !quoted
}

// splitQuoted cuts s at the first sep that is not inside a quoted string.
func splitQuoted(s string, sep byte) (head, tail string) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
		if strings.IndexByte(s, '\\') >= 0 {
			s = strings.ReplaceAll(s, `\`, "") // quoted-pair: drop the backslash
		}
	}
	return s
}

// testHookParseNode, when set by a test, counts parseNode's calls.
var testHookParseNode func()

// parseNode parses a forwarding node: "192.0.2.1", "192.0.2.1:80",
// "[2001:db8::1]", "[2001:db8::1]:80", or a bare IPv6 address as some proxies
// write in X-Forwarded-For. Anything else ("unknown", "_hidden") is the zero Addr.
func parseNode(s string) netip.Addr {
	if testHookParseNode != nil {
		testHookParseNode()
	}
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}
		}
		s = s[1:end]
	} else if i := strings.IndexByte(s, ':'); i >= 0 && strings.Count(s, ":") == 1 {
		s = s[:i]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// ipv4HostPort recognises a canonical "a.b.c.d:port" (decimal octets without
// leading zeros, as net/http writes RemoteAddr) and returns "a.b.c.d". It runs
// on every request, often twice (tenant and IP keys), so it scans digits
// without a multiply-add chain and checks each run's value at its end.
func ipv4HostPort(s string) (string, bool) {
	i := 0
	for dots := 0; ; dots++ {
		start := i
		for i < len(s) && s[i]-'0' <= 9 {
			i++
		}
		if !canonicalOctet(s[start:i]) || i == len(s) {
			return "", false
		}
		if dots == 3 {
			if s[i] != ':' {
				return "", false
			}
			break
		}
		if s[i] != '.' {
			return "", false
		}
		i++
	}
	host := i
	port := s[i+1:]
	if len(port) < 1 || len(port) > 5 {
		return "", false
	}
	for j := 0; j < len(port); j++ {
		if port[j]-'0' > 9 {
			return "", false
		}
	}
	if len(port) == 5 && port > "65535" { // same length: byte order is numeric order
		return "", false
	}
	return s[:host], true
}

// canonicalOctet reports whether d, all decimal digits, is 0..255 without a
// leading zero.
func canonicalOctet(d string) bool {
	switch len(d) {
	case 1:
		return true
	case 2:
		return d[0] != '0'
	case 3:
		return d[0] == '1' || (d[0] == '2' && (d[1] < '5' || (d[1] == '5' && d[2] <= '5')))
	}
	return false
}
