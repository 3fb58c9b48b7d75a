package gateway

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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

// connUpstream is an upstream that counts its connections (opened, and open
// now) and its calls, and holds each call to /slow until it receives from
// release.
type connUpstream struct {
	*httptest.Server
	name             string
	opened, open     atomic.Int64
	calls            atomic.Int64
	release, arrived chan struct{}
	done             chan struct{} // closed at the end of the test: nothing is held
}

func newConnUpstream(t *testing.T, name string) *connUpstream {
	t.Helper()
	u := &connUpstream{name: name, release: make(chan struct{}), arrived: make(chan struct{}, 16), done: make(chan struct{})}
	u.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.calls.Add(1)
		if strings.HasSuffix(r.URL.Path, "/slow") {
			u.arrived <- struct{}{}
			select {
			case <-u.release:
			case <-u.done:
			}
		}
		_, _ = io.WriteString(w, name)
	}))
	u.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			u.opened.Add(1)
			u.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			u.open.Add(-1)
		}
	}
	u.Start()
	t.Cleanup(u.Close)
	t.Cleanup(func() { close(u.done) }) // first: Close waits for the calls
	return u
}

// waitOpen waits until u has want connections open.
func (u *connUpstream) waitOpen(t *testing.T, want int64, why string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for u.open.Load() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s has %d connections open after 5 s, want %d", why, u.name, u.open.Load(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// callVia sends one call through g and returns its status and body.
func callVia(g http.Handler, path string) (int, string) {
	w := httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	return w.Code, w.Body.String()
}

// slowCalls starts n calls to /slow through g and waits until u holds them
// all; wait releases them and returns their results.
func slowCalls(t *testing.T, g http.Handler, u *connUpstream, n int) (wait func() []string) {
	t.Helper()
	var wg sync.WaitGroup
	got := make([]string, n)
	for i := range n {
		wg.Go(func() {
			code, body := callVia(g, "/crm/v8/Leads/slow")
			got[i] = http.StatusText(code) + " " + body
		})
	}
	for range n {
		<-u.arrived
	}
	return func() []string {
		for range n {
			u.release <- struct{}{}
		}
		wg.Wait()
		return got
	}
}

// A reload to another upstream closes the idle connections to the old one
// at once, and the old one's connections of calls in flight when their call
// ends: the transport would have kept them for its idle timeout (90 s), and
// reused them for the new upstream if it had the same host and port. The
// calls in flight finish on the old upstream; nothing is sent to it after.
func TestReloadClosesOldUpstreamConns(t *testing.T) {
	a, b := newConnUpstream(t, "A"), newConnUpstream(t, "B")
	g := newGateway(t, "upstream: "+a.URL+"\n")
	for _, r := range slowCalls(t, g, a, 3)() { // three connections, then idle
		if r != "OK A" {
			t.Fatalf("call to A: %q", r)
		}
	}
	wait := slowCalls(t, g, a, 1) // in flight over the reload, on one of the three
	a.waitOpen(t, 3, "before the reload")

	if err := g.Reload(effective(t, "upstream: "+b.URL+"\n")); err != nil {
		t.Fatal(err)
	}
	callsA := a.calls.Load()
	if code, body := callVia(g, "/crm/v8/Leads"); code != http.StatusOK || body != "B" {
		t.Fatalf("after the reload: %d %q, want B's 200", code, body)
	}
	a.waitOpen(t, 1, "after the reload, one call in flight")
	if r := wait(); r[0] != "OK A" {
		t.Fatalf("call in flight over the reload: %q, want A's 200", r[0])
	}
	a.waitOpen(t, 0, "after the call in flight ended")
	if n := a.calls.Load(); n != callsA {
		t.Fatalf("A got %d calls after the reload", n-callsA)
	}
}

// A reload that keeps the upstream keeps its connections: only a new
// upstream needs new ones.
func TestReloadSameUpstreamKeepsConns(t *testing.T) {
	a := newConnUpstream(t, "A")
	g := newGateway(t, "upstream: "+a.URL+"\n")
	if code, _ := callVia(g, "/crm/v8/Leads"); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if err := g.Reload(effective(t, "upstream: "+a.URL+"\nplan: {edition: free}\n")); err != nil {
		t.Fatal(err)
	}
	if code, _ := callVia(g, "/crm/v8/Leads"); code != http.StatusOK {
		t.Fatalf("after the reload: status %d", code)
	}
	if n := a.opened.Load(); n != 1 {
		t.Fatalf("A: %d connections opened, want 1 (the first call's, kept over the reload)", n)
	}
}
