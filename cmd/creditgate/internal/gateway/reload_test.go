package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A reload is refused, and the running configuration kept, when the new
// file has no upstream (serve requires one at start; every call would get
// 502) or names the gateway's running listen address as its upstream (a
// listen change needs a restart, so Build, checking the file's own listen,
// lets it through, and every call would come back through the gateway).
func TestReloadRefusesNoUpstreamOrItself(t *testing.T) {
	up := upstream(t)
	const listen = "127.0.0.1:18080"
	g := newGateway(t, "listen: "+listen+"\nupstream: "+up.URL+"\n")
	for name, text := range map[string]string{
		"no upstream": "listen: " + listen + "\n",
		"itself":      "listen: 127.0.0.1:18081\nupstream: http://" + listen + "\n",
	} {
		if err := g.Reload(effective(t, text)); err == nil {
			t.Errorf("%s: reload accepted", name)
		}
		w := httptest.NewRecorder()
		g.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/crm/v8/Leads", nil))
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "ok") {
			t.Errorf("%s: after the reload: %d %s, want the running upstream's 200", name, w.Code, w.Body)
		}
	}
}
