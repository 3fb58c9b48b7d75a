package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// A header name the client spells with underscores for dashes (X_Org for
// X-Org) is the tenant header to upstreams that read headers as CGI
// variables (HTTP_X_ORG: WSGI, Rack, PHP), and Go's server keeps it apart
// (X_org), so the gateway neither charges from it nor replaced it: it went
// to the upstream as the client sent it, naming the tenant the upstream
// serves while the gateway charged another (the default pool, or the X-Org
// line's). nginx (underscores_in_headers off) and Envoy
// (headers_with_underscores_action) drop such headers for this reason. The
// upstream must see no line whose name reads as the tenant header but the
// one the gateway charged.
func TestTenantHeaderUnderscoreSpellingNotForwarded(t *testing.T) {
	var mu sync.Mutex
	var got map[string][]string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = map[string][]string{}
		for k, v := range r.Header {
			if strings.EqualFold(strings.ReplaceAll(k, "_", "-"), "X-Org") {
				got[k] = v
			}
		}
		mu.Unlock()
	}))
	t.Cleanup(up.Close)
	for _, tc := range []struct {
		name    string
		lines   map[string]string
		charged string
	}{
		{"underscore alone", map[string]string{"X_org": "victim"}, ""},
		{"beside the header", map[string]string{"X-Org": "attacker", "X_org": "victim"}, "attacker"},
		{"odd case", map[string]string{"x_ORG": "victim"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t, "upstream: "+up.URL+`
identity: {tenant_header: X-Org}
plan: {credits: 100, concurrency: 5}
costs: {profile: none, default: 10}
`)
			r := httptest.NewRequest(http.MethodGet, "/x", nil)
			r.RemoteAddr = "192.0.2.1:40000"
			for k, v := range tc.lines {
				r.Header[k] = []string{v}
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
			want := map[string][]string{}
			if tc.charged != "" {
				want["X-Org"] = []string{tc.charged}
			}
			if len(got) != len(want) || tc.charged != "" && (len(got["X-Org"]) != 1 || got["X-Org"][0] != tc.charged) {
				t.Errorf("the upstream saw %q, want %q", got, want)
			}
		})
	}
}

// A tenant header the client lists in Connection (hop-by-hop, which the
// proxy drops before its Rewrite) still reaches the upstream as the tenant
// the gateway charged from it (held: setTenant runs after the drop, from
// the inbound request).
func TestTenantHeaderInConnectionForwarded(t *testing.T) {
	var mu sync.Mutex
	var got []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Values("X-Org")
		mu.Unlock()
	}))
	t.Cleanup(up.Close)
	g := newGateway(t, "upstream: "+up.URL+`
identity: {tenant_header: X-Org}
plan: {credits: 100, concurrency: 5}
costs: {profile: none, default: 10}
`)
	r := httptest.NewRequest(http.MethodGet, "/x", nil)
	r.RemoteAddr = "192.0.2.1:40000"
	r.Header.Set("X-Org", "acme")
	r.Header.Set("Connection", "x-org")
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if d := g.l.Peek(time.Now(), "acme"); d.Used != 10 {
		t.Fatalf("acme: used %d, want 10", d.Used)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "acme" {
		t.Errorf("the upstream saw X-Org %q, want [acme]", got)
	}
}
