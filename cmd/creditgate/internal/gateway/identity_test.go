package gateway

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// With trusted_proxies, the tenant header is the trusted proxy's word. A
// proxy that adds its header line rather than replacing the client's (an
// Envoy request_headers_to_add, whose default appends; HAProxy's
// add-header) passes on the client's line first and its own last: the
// gateway must charge the pool the proxy named, not the one the client
// claimed.
func TestTenantHeaderAppendedByTrustedProxy(t *testing.T) {
	up := upstream(t)
	g := newGateway(t, "upstream: "+up.URL+"\n"+`
identity: {tenant_header: X-Org, trusted_proxies: [10.0.0.0/8]}
plan: {credits: 100, concurrency: 5}
costs: {profile: none, default: 10}
`)
	r := httptest.NewRequest(http.MethodGet, "/x", nil)
	r.RemoteAddr = "10.1.2.3:40000"   // the trusted proxy
	r.Header.Add("X-Org", "victim")   // the client's claim, passed on
	r.Header.Add("X-Org", "attacker") // the proxy's own line
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	now := time.Now()
	if d := g.l.Peek(now, "victim"); d.Used != 0 {
		t.Errorf("the pool the client claimed was charged: used %d", d.Used)
	}
	if d := g.l.Peek(now, "attacker"); d.Used != 10 {
		t.Errorf("the pool the proxy named: used %d, want 10", d.Used)
	}
}

// The upstream sees the tenant header as the gateway resolved it: one line,
// the tenant it charged, or none when it charged none from the header (a
// peer it does not trust). Left open by the last review: the client's lines
// went on unchanged, so that an upstream reading another line than the
// gateway (the first, as Go's Header.Get does, where the gateway believed a
// trusted proxy's last) served one tenant on another's credits. Kong's
// authentication plugins set their consumer headers or clear them, and
// Envoy strips its internal headers from external requests, alike.
func TestTenantHeaderToUpstreamIsTheCharged(t *testing.T) {
	var mu sync.Mutex
	var got []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Values("X-Org")
		mu.Unlock()
	}))
	t.Cleanup(up.Close)
	for _, tc := range []struct {
		name, trusted, peer string
		lines               []string
		charged             string // "": the default pool
		want                []string
	}{
		{"one line", "", "192.0.2.1", []string{"acme"}, "acme", []string{"acme"}},
		{"lines, no trusted proxies", "", "192.0.2.1", []string{"acme", "evil"}, "acme", []string{"acme"}},
		{"lines from a trusted proxy", "[10.0.0.0/8]", "10.1.2.3", []string{"victim", "attacker"}, "attacker", []string{"attacker"}},
		{"untrusted peer", "[10.0.0.0/8]", "192.0.2.1", []string{"evil"}, "", nil},
		{"empty line", "", "192.0.2.1", []string{""}, "", nil},
		{"no header", "[10.0.0.0/8]", "10.1.2.3", nil, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "{tenant_header: X-Org}"
			if tc.trusted != "" {
				id = "{tenant_header: X-Org, trusted_proxies: " + tc.trusted + "}"
			}
			g := newGateway(t, "upstream: "+up.URL+"\nidentity: "+id+`
plan: {credits: 100, concurrency: 5}
costs: {profile: none, default: 10}
`)
			r := httptest.NewRequest(http.MethodGet, "/x", nil)
			r.RemoteAddr = tc.peer + ":40000"
			for _, v := range tc.lines {
				r.Header.Add("X-Org", v)
			}
			w := httptest.NewRecorder()
			g.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			if d := g.l.Peek(time.Now(), tc.charged); d.Used != 10 {
				t.Fatalf("tenant %q: used %d, want 10", tc.charged, d.Used)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(got, tc.want) {
				t.Errorf("the upstream saw X-Org %q, want %q", got, tc.want)
			}
			if len(tc.lines) > 0 && !slices.Equal(r.Header.Values("X-Org"), tc.lines) {
				t.Errorf("the client's request was changed: %q", r.Header.Values("X-Org"))
			}
		})
	}
}
