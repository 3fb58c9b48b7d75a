package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// d2bed54 ends a proxied call at timeouts.write unless the request asks
// for an upgrade (Connection: upgrade with an Upgrade header), for a
// WebSocket lives as long as it is used. But the request alone decides:
// any client that adds those two headers to an ordinary call, which the
// upstream answers 200 (no 101) and then hangs, holds the call and its
// concurrency slot past timeouts.write again, for as long as the upstream
// hangs (TestUpstreamHungAfterHeaderReleasesSlot without the headers).
func TestUpgradeHeadersDodgeWriteTimeout_r90(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK) // not 101: no upgrade
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
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	resp, err := gw.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want the upstream's 200", resp.StatusCode)
	}
	go func() { _, _ = io.Copy(io.Discard, resp.Body) }()

	deadline := time.Now().Add(3 * time.Second) // ten times timeouts.write
	for g.inFlight() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := g.inFlight(); n > 0 {
		t.Errorf("3 s after a call (Upgrade headers, answered 200) whose upstream hung past timeouts.write (300ms), %d call(s) still in flight", n)
	}
}

// Guard test: a connection the upstream did upgrade (101) lives past
// timeouts.write, as long as it is used. Fails when the timer that ends a
// call at timeouts.write is not stopped by the 101 (keepUpgrade).
func TestUpgradedLivesPastWriteTimeout_r90(t *testing.T) {
	up := echoUpgrade(t)
	g := newGateway(t, "upstream: "+up.URL+"\nplan: {credits: 1000, concurrency: 1}\ntimeouts: {write: 200ms}\n")
	gw := httptest.NewServer(g)
	t.Cleanup(gw.Close)
	c, br := upgrade(t, strings.TrimPrefix(gw.URL, "http://"))
	defer c.Close()
	time.Sleep(600 * time.Millisecond)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, "pong\n")
	if l, err := br.ReadString('\n'); l != "pong\n" {
		t.Fatalf("echo past timeouts.write: %q %v", l, err)
	}
}
