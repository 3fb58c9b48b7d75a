package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// An upstream that sends its header and then nothing holds the call, and its
// concurrency slot, for as long as it hangs: timeouts.write (the server's
// WriteTimeout) only fails a write, and the proxy, waiting on the upstream's
// body, makes none; the transport has no body timeout. The README calls
// the timeouts "the http.Server and upstream transport limits": a call
// should end by timeouts.write, and give its slot back.
func TestUpstreamHungAfterHeaderReleasesSlot(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("{"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(up.Close)
	t.Cleanup(func() { close(release) })
	g := newGateway(t, "upstream: "+up.URL+"\ncosts: {profile: none, default: 1}\nplan: {credits: 100, concurrency: 1}\ntimeouts: {write: 300ms}\n")
	gw := httptest.NewUnstartedServer(g)
	gw.Config.WriteTimeout = 300 * time.Millisecond // as listen sets it from timeouts.write
	gw.Start()
	t.Cleanup(gw.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, gw.URL+"/x", nil)
	resp, err := gw.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	go func() { _, _ = io.Copy(io.Discard, resp.Body) }() // the client waits, as clients do

	deadline := time.Now().Add(3 * time.Second) // ten times timeouts.write
	for g.inFlight() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := g.inFlight(); n > 0 {
		// The slot is still held: a second call is refused for concurrency.
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		t.Errorf("3 s after a call whose upstream hung past timeouts.write (300ms), %d call(s) still in flight; a new call got %d %s", n, w.Code, strings.TrimSpace(w.Body.String()))
	}
}

// The same deadline before the upstream's header (timeouts.upstream_header
// longer than timeouts.write): the call is the upstream's failure, a 504,
// counted and refunded, not a client that went away (499, charged).
func TestUpstreamSilentPastWriteTimeoutIs504(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(up.Close)
	t.Cleanup(func() { close(release) })
	g := newGateway(t, "upstream: "+up.URL+"\ncosts: {profile: none, default: 1}\nplan: {credits: 100, concurrency: 1}\ntimeouts: {write: 300ms, upstream_header: 1m}\n")
	r := httptest.NewRequest(http.MethodGet, "/x", nil)
	w := httptest.NewRecorder()
	start := time.Now()
	g.ServeHTTP(w, r)
	if w.Code != http.StatusGatewayTimeout || time.Since(start) > 5*time.Second {
		t.Fatalf("status %d after %v, want 504 after about 300ms", w.Code, time.Since(start))
	}
	if v := testutil.ToFloat64(g.m.upstream); v != 1 {
		t.Errorf("upstream errors = %v, want 1", v)
	}
	if d := g.l.Peek(time.Now(), ""); d.Used != 0 {
		t.Errorf("used %d credits, want the 504 refunded", d.Used)
	}
}
