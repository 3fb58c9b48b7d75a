package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A client that hangs up while its call waits at the upstream is not the
// upstream's failure: the call is not counted as an upstream error (nor
// logged as one), and its credits are not given back, since the upstream got
// it and may do the work; else a client would have every slow call free by
// hanging up just before its answer.
func TestClientGoneIsNotAnUpstreamError(t *testing.T) {
	arrived := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done() // the gateway cancels its request when the client goes
	}))
	t.Cleanup(up.Close)
	g := newGateway(t, strings.ReplaceAll(tenantsYAML, "%s", up.URL))
	served := make(chan struct{})
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.ServeHTTP(w, r)
		close(served)
	}))
	t.Cleanup(gw.Close)

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, gw.URL+"/crm/bulk/v8/read", nil)
	req.Header.Set("X-Org", "acme")
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-arrived
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("client: %v", err)
	}
	<-served // the call is settled when the gateway's handler returns
	if v := testutil.ToFloat64(g.m.upstream); v != 0 {
		t.Errorf("upstream errors = %v, want 0: the client went away", v)
	}
	if d := g.l.Peek(time.Now(), "acme"); d.Used != 50 {
		t.Errorf("acme used %d credits, want 50: the upstream got the call", d.Used)
	}
}

// An upstream that does not answer within timeouts.upstream_header is a
// gateway timeout (504), not an upstream that could not be reached (502).
func TestUpstreamTimeoutIs504(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(up.Close)
	g := newGateway(t, strings.ReplaceAll(tenantsYAML, "%s", up.URL)+"timeouts: {upstream_header: 50ms}\n")
	r := httptest.NewRequest(http.MethodGet, "/crm/v8/Leads", nil)
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	if w.Code != http.StatusGatewayTimeout {
		t.Fatalf("status %d, want 504: %s", w.Code, w.Body)
	}
	if v := testutil.ToFloat64(g.m.upstream); v != 1 {
		t.Errorf("upstream errors = %v, want 1", v)
	}
}
