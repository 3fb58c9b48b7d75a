package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
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

// A reload that runs while the gateway closes, with a retired link still
// draining, neither races with Close's wait for the drains nor leaves a
// link Close did not see: after Close and the reload, every connection to
// either upstream is closed once the call in flight ends.
func TestReloadDuringClose(t *testing.T) {
	for i := range 20 {
		a, b := newConnUpstream(t, "A"), newConnUpstream(t, "B")
		g, err := New(effective(t, "upstream: "+a.URL+"\n"), quiet(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if code, _ := callVia(g, "/crm/v8/Leads"); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
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
	g, err := New(effective(t, "upstream: "+a.URL+"\n"), quiet(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := callVia(g, "/crm/v8/Leads"); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
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
