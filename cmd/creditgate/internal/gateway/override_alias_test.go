package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creditgate/creditgate/cost"
)

// A method override header spelt with underscores (X_HTTP_Method_Override,
// which Go's server keeps apart as X_http_method_override) is not read by
// the cost table, but a CGI-style upstream (Rack, PHP: HTTP_X_HTTP_METHOD_OVERRIDE)
// runs the request as the method it names: POST /x priced 1 ran as
// DELETE /x, priced 50. Like the tenant header's underscore spellings
// (TestTenantHeaderUnderscoreSpellingNotForwarded), such lines must not
// reach the upstream; the dashed spelling does, priced as it says.
func TestOverrideHeaderUnderscoreSpellingNotForwarded(t *testing.T) {
	var mu sync.Mutex
	var got map[string][]string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = map[string][]string{}
		for k, v := range r.Header {
			for _, o := range []string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"} {
				if strings.EqualFold(strings.ReplaceAll(k, "_", "-"), o) {
					got[k] = v
				}
			}
		}
		mu.Unlock()
	}))
	t.Cleanup(up.Close)
	for _, tc := range []struct {
		name  string
		lines map[string]string
		used  int64
		want  string // the line the upstream sees, if any
	}{
		{"override underscore", map[string]string{"X_http_method_override": "DELETE"}, 1, ""},
		{"method underscore", map[string]string{"X_http_method": "DELETE"}, 1, ""},
		{"method override underscore", map[string]string{"x_METHOD_override": "DELETE"}, 1, ""},
		{"dashed, priced", map[string]string{"X-Http-Method-Override": "DELETE"}, 50, "X-Http-Method-Override"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t, "upstream: "+up.URL+`
plan: {credits: 100, concurrency: 5}
costs:
  profile: none
  default: 1
  routes:
    - {pattern: "DELETE /x", cost: 50}
`)
			r := httptest.NewRequest(http.MethodPost, "/x", nil)
			r.RemoteAddr = "192.0.2.1:40000"
			for k, v := range tc.lines {
				r.Header[k] = []string{v}
			}
			w := httptest.NewRecorder()
			g.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			if d := g.l.Peek(time.Now(), ""); d.Used != tc.used {
				t.Errorf("used %d, want %d", d.Used, tc.used)
			}
			mu.Lock()
			defer mu.Unlock()
			if tc.want == "" && len(got) != 0 || tc.want != "" && (len(got) != 1 || len(got[tc.want]) != 1) {
				t.Errorf("the upstream saw %q, want only %q", got, tc.want)
			}
		})
	}
}

// cost.OverrideHeaders are the headers the cost table reads as method overrides.
func TestOverrideNamesAreTheTables(t *testing.T) {
	for _, o := range cost.OverrideHeaders() {
		r := httptest.NewRequest(http.MethodPost, "/x", nil)
		r.Header[o] = []string{"DELETE"}
		n := 0
		cost.OverrideMethods(r, func(string) bool { n++; return true })
		if n != 1 {
			t.Errorf("%s: the cost table reads %d methods", o, n)
		}
	}
}
