package gateway

import (
	"context"
	"strings"
	"testing"
)

// listen needs a restart: the listener keeps the address it started on. A
// reload checks the new upstream against the running listen address, but
// took it from the configuration last reloaded: after a reload that
// changed listen (logged as needing a restart), a second one could name
// the address still listened on as its upstream, and each call would come
// back through the gateway.
func TestReloadUpstreamIsTheRunningListen(t *testing.T) {
	up := upstream(t)
	g, err := New(effective(t, "listen: 127.0.0.1:18080\nupstream: "+up.URL+"\n"), quiet(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close(context.Background()) })
	if err := g.Reload(effective(t, "listen: 127.0.0.1:19090\nupstream: "+up.URL+"\n")); err != nil {
		t.Fatal(err) // the new listen is kept for a restart
	}
	err = g.Reload(effective(t, "listen: 127.0.0.1:19090\nupstream: http://127.0.0.1:18080\n"))
	if err == nil || !strings.Contains(err.Error(), "the gateway itself") || !strings.Contains(err.Error(), "127.0.0.1:18080") {
		t.Errorf("an upstream at the running listen address (127.0.0.1:18080) reloaded: %v", err)
	}
	if g.current.Load().link.upstream.String() != up.URL {
		t.Errorf("the upstream is %s, want %s kept", g.current.Load().link.upstream, up.URL)
	}
}
