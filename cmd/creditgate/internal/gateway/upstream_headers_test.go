package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// An upstream that sends limit headers of its own (Zoho itself does) must
// not add them beside the gateway's: a client that gets two values of
// X-RATELIMIT-REMAINING drops the field, or reads the upstream's account
// figures as its own pool at the gateway. The gateway's win; the upstream's
// Retry-After and other headers pass.
func TestUpstreamLimitHeadersNotDoubled(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("X-RATELIMIT-LIMIT", "777001")
		h.Set("X-RATELIMIT-REMAINING", "777002")
		h.Set("X-RATELIMIT-RESET", "777003")
		h.Set("X-API-CREDITS-REMAINING", "777002")
		h.Set("RateLimit", `"up";r=777002;t=777003`)
		h.Set("RateLimit-Policy", `"up";q=777001;w=86400`)
		h.Set("X-Upstream", "kept")
	}))
	t.Cleanup(up.Close)
	g := newGateway(t, strings.ReplaceAll(tenantsYAML, "%s", up.URL))
	r := httptest.NewRequest(http.MethodGet, "/crm/v8/Leads", nil)
	r.Header.Set("X-Org", "acme")
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	for _, k := range []string{"X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset"} {
		if v := w.Header().Values(k); len(v) != 1 || strings.HasPrefix(v[0], "777") {
			t.Errorf("%s: %q, want the gateway's one value", k, v)
		}
	}
	for _, k := range []string{"X-Api-Credits-Remaining", "Ratelimit", "Ratelimit-Policy"} {
		for _, v := range w.Header().Values(k) {
			if strings.Contains(v, "777") {
				t.Errorf("%s: %q, the upstream's beside or instead of the gateway's", k, w.Header().Values(k))
			}
		}
	}
	if w.Header().Get("X-Upstream") != "kept" {
		t.Error("the upstream's own headers were dropped")
	}
}
