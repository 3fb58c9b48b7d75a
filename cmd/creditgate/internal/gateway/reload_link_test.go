package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/cmd/creditgate/internal/config"
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

// A reload that runs while the gateway closes, with a retired link still
// draining, neither races with Close's wait for the drains nor leaves a
// link Close did not see: after Close and the reload, every connection to
// either upstream is closed once the call in flight ends.
func TestReloadDuringClose(t *testing.T) {
	for i := range 20 {
		a, b := newConnUpstream(t, "A"), newConnUpstream(t, "B")
		g := servingVia(t, a.URL)
		wait := slowCalls(t, g, a, 1) // on A over the reload: A's link drains
		if err := g.Reload(effective(t, "upstream: "+b.URL+"\n")); err != nil {
			t.Fatal(err)
		}
		if code, body := callVia(g, "/crm/v8/Leads"); code != http.StatusOK || body != "B" {
			t.Fatalf("after the reload: %d %q", code, body)
		}
		var wg sync.WaitGroup
		wg.Go(func() { _ = g.Close(context.Background()) })
		wg.Go(func() { _ = g.Reload(effective(t, "upstream: "+a.URL+"\n")) })
		wg.Wait()
		if r := wait(); r[0] != "OK A" {
			t.Fatalf("%d: call in flight: %q", i, r[0])
		}
		a.waitOpen(t, 0, "after Close and the call in flight")
		b.waitOpen(t, 0, "after Close")
	}
}

// A reload after Close is refused and changes nothing: Close has closed the
// links and stopped the drains, so a link made or retired now would never
// be closed.
func TestReloadAfterClose(t *testing.T) {
	a, b := newConnUpstream(t, "A"), newConnUpstream(t, "B")
	g := servingVia(t, a.URL)
	if err := g.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	cur := g.current.Load()
	if err := g.Reload(effective(t, "upstream: "+b.URL+"\nplan: {edition: free}\n")); err == nil {
		t.Error("reload after Close accepted")
	}
	if g.current.Load() != cur {
		t.Error("reload after Close swapped the handler")
	}
	g.mu.Lock()
	n := len(g.links)
	g.mu.Unlock()
	if n != 1 {
		t.Errorf("%d links after a reload after Close, want 1", n)
	}
	a.waitOpen(t, 0, "after Close")
}

// Reloads flapping between two upstreams under traffic: every call is
// answered by one of them, the links retired along the way drain and are
// forgotten, the upstream left behind ends with no connection open, and
// nothing reaches it after the last reload. A->B->A makes a new link to A;
// the retired one to A drains beside it.
func TestReloadFlapping(t *testing.T) {
	a, b := newConnUpstream(t, "A"), newConnUpstream(t, "B")
	effA, effB := effective(t, "upstream: "+a.URL+"\n"), effective(t, "upstream: "+b.URL+"\n")
	g := newGateway(t, "upstream: "+a.URL+"\n")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bad atomic.Value
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if code, body := callVia(g, "/crm/v8/Leads"); code != http.StatusOK || (body != "A" && body != "B") {
					bad.Store(http.StatusText(code) + " " + body)
				}
			}
		})
	}
	for i := range 40 {
		eff := effB
		if i%2 == 1 {
			eff = effA
		}
		if err := g.Reload(eff); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	// The last reload was to A; then one to B with no traffic in flight.
	close(stop)
	wg.Wait()
	if v := bad.Load(); v != nil {
		t.Fatalf("a call under flapping reloads: %v", v)
	}
	if err := g.Reload(effB); err != nil {
		t.Fatal(err)
	}
	callsA := a.calls.Load()
	for range 5 {
		if code, body := callVia(g, "/crm/v8/Leads"); code != http.StatusOK || body != "B" {
			t.Fatalf("after the last reload: %d %q", code, body)
		}
	}
	a.waitOpen(t, 0, "after the last reload")
	deadline := time.Now().Add(5 * time.Second)
	for {
		g.mu.Lock()
		n := len(g.links)
		g.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d links 5 s after the last reload, want 1", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := g.inFlight(); n != 0 {
		t.Fatalf("in flight: %d", n)
	}
	if n := a.calls.Load(); n != callsA {
		t.Fatalf("A got %d calls after the last reload", n-callsA)
	}
}

// A graceful stop waits for an upgraded connection on a link a reload
// retired, as for one on the current link: the handlers in flight are
// counted across every link.
func TestShutdownWaitsForUpgradedOnRetiredLink(t *testing.T) {
	up, b := echoUpgrade(t), newConnUpstream(t, "B")
	addr := freeAddr(t)
	base := "listen: " + addr + "\ndashboard: {enabled: false}\ntimeouts: {shutdown: 1s}\n"
	effB := effective(t, base+"upstream: "+b.URL+"\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hup := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, effective(t, base+"upstream: "+up.URL+"\n"), Options{
			Logger: quiet(), Hangup: hup,
			Reload: func() (*config.Effective, error) { return effB, nil },
		})
	}()
	awaitListening(t, addr)
	c, br := upgrade(t, addr)
	defer c.Close()
	hup <- struct{}{}
	for i := 0; ; i++ { // the reload is applied
		resp, err := http.Get("http://" + addr + "/crm/v8/Leads")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) == "B" {
			break
		} else if i == 200 {
			t.Fatalf("reload not applied: %q", body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Run returned after %v with an upgraded connection open on the retired link (err %v)", time.Since(start), err)
	case <-time.After(300 * time.Millisecond):
	}
	drainedShutdown(t, c, br, done, start)
}

// servingVia returns a gateway to upstream url that has served one call.
func servingVia(t *testing.T, url string) *Gateway {
	t.Helper()
	g, err := New(effective(t, "upstream: "+url+"\n"), quiet(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := callVia(g, "/crm/v8/Leads"); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	return g
}
