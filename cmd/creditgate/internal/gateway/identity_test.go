package gateway

import (
	"net/http"
	"net/http/httptest"
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
