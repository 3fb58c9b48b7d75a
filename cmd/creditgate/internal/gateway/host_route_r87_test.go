package gateway

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/creditgate/creditgate/cmd/creditgate/internal/config"
)

// A route pattern may name a host ("POST api.example.com/bulk", ServeMux
// syntax), and Build took it. But the gateway proxies every call to its one
// upstream, rewriting Host to the upstream's: the Host the client sends
// picks the price, not the call. A client that sends any other Host pays
// the default for the same call at the same upstream path. Build must
// refuse a host in a pattern, or the call must pay the route's price
// whatever Host it names.
func TestHostPatternCannotBeDodgedByHost(t *testing.T) {
	paths := make(chan string, 4)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { paths <- r.URL.Path }))
	t.Cleanup(up.Close)
	text := fmt.Sprintf(`upstream: %s
plan: {credits: 1000, concurrency: 5}
costs:
  profile: none
  default: 1
  routes:
    - {pattern: "POST api.example.com/bulk", cost: 50}
`, up.URL)
	c, err := config.Parse("h.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	eff, err := config.Build(c)
	if err != nil {
		t.Logf("refused: %v", err) // refused at the pattern: fine
		return
	}
	g, err := New(eff, quiet(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close(t.Context()) })
	for _, host := range []string{"api.example.com", "elsewhere.example"} {
		before := g.l.Peek(time.Now(), "").Used
		r := httptest.NewRequest(http.MethodPost, "http://"+host+"/bulk", nil)
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("Host %s: %d", host, w.Code)
		}
		path := <-paths
		if used := g.l.Peek(time.Now(), "").Used - before; used != 50 {
			t.Errorf("Host %s: the upstream got POST %s, charged %d credits, want the route's 50", host, path, used)
		}
	}
}
