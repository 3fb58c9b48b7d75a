package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The config's add_ons reach the headers: X-API-CREDITS-REMAINING is sent
// from half the allowance used, add-ons excluded (Zoho's rule), and a
// reload that drops the add-ons (the pool the same size) moves the
// threshold back to half the pool.
func TestCreditsHeaderExcludesAddOns(t *testing.T) {
	up := upstream(t)
	const yaml = `
upstream: %s
identity: {tenant_header: X-Org}
plan: {edition: free, credits: 100, add_ons: 100}
`
	g := newGateway(t, strings.ReplaceAll(yaml, "%s", up.URL))
	spend(t, g, "acme", 1) // 50 of an allowance of 100 (a pool of 200)
	get := func() http.Header {
		r := httptest.NewRequest(http.MethodGet, "/crm/v8/Leads", nil)
		r.Header.Set("X-Org", "acme")
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
		return w.Header()
	}
	if h := get(); h.Get("X-Api-Credits-Remaining") != "149" {
		t.Fatalf("51 of an allowance of 100 used: X-API-CREDITS-REMAINING %q, want 149; %v", h.Get("X-Api-Credits-Remaining"), h)
	}
	if err := g.Reload(effective(t, strings.ReplaceAll(strings.ReplaceAll(yaml, "%s", up.URL),
		"credits: 100, add_ons: 100", "credits: 200"))); err != nil {
		t.Fatal(err)
	}
	if h := get(); h.Get("X-Api-Credits-Remaining") != "" || h.Get("X-Ratelimit-Remaining") != "148" {
		t.Fatalf("52 of 200 used, no add-ons: %v", h)
	}
}
