package gateway

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/creditgate/creditgate/cmd/creditgate/internal/config"
)

// NewProxy's doc said "It sets the X-Forwarded-* headers (appending the
// client to an X-Forwarded-For it was sent)" (reviewer-87). With Rewrite,
// ReverseProxy strips the inbound X-Forwarded-For before Rewrite runs, so
// SetXForwarded sets the peer alone, which the doc now says: a chain the
// client wrote, which it may forge, never reaches the upstream.
func TestProxyXForwardedForIsThePeer(t *testing.T) {
	got := make(chan string, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("X-Forwarded-For")
	}))
	t.Cleanup(up.Close)
	u, _ := url.Parse(up.URL)
	tr := NewTransport(config.Default().Timeouts)
	t.Cleanup(tr.CloseIdleConnections)
	gw := httptest.NewServer(NewProxy(u, tr, quiet(), nil))
	t.Cleanup(gw.Close)
	req, _ := http.NewRequest(http.MethodGet, gw.URL+"/x", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	resp, err := gw.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if xff := <-got; xff != "127.0.0.1" {
		t.Errorf("upstream got X-Forwarded-For %q, want the peer alone, %q", xff, "127.0.0.1")
	}
}
