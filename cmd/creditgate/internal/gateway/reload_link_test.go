package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// A reload that moves the upstream to another path (or query) on the same
// scheme and host keeps the link and its connections, but the next call
// goes to the new path: the link is the connections, not the address.
func TestReloadSameHostNewPath(t *testing.T) {
	paths := make(chan string, 4)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths <- r.URL.RequestURI()
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(up.Close)
	g := newGateway(t, "upstream: "+up.URL+"/v1\n")
	if code, _ := callVia(g, "/crm/v8/Leads"); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if p := <-paths; p != "/v1/crm/v8/Leads" {
		t.Fatalf("before the reload: upstream got %q", p)
	}
	if err := g.Reload(effective(t, "upstream: "+up.URL+"/v2?region=eu\n")); err != nil {
		t.Fatal(err)
	}
	if code, _ := callVia(g, "/crm/v8/Leads"); code != http.StatusOK {
		t.Fatalf("after the reload: status %d", code)
	}
	if p := <-paths; p != "/v2/crm/v8/Leads?region=eu" {
		t.Fatalf("after the reload to %s/v2?region=eu: upstream got %q", up.URL, p)
	}
}
