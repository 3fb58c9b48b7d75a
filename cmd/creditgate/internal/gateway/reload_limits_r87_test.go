package gateway

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// README (SIGHUP): "The addresses, limits, snapshot, thresholds, timeouts
// and log format need a restart (the log names any that changed)". A reload
// that lowers limits.max_key_bytes logs that limits need a restart, yet the
// new handler applies it at once (buildHandler reads eff's limits): an
// application key the running gateway admitted now gets 400. What the log
// and README say and what the gateway does must agree.
func TestReloadLimitsNeedARestart(t *testing.T) {
	up := upstream(t)
	var logs syncBuf
	base := "upstream: " + up.URL + "\ncosts: {profile: none, default: 1}\n"
	g, err := New(effective(t, base), slog.New(slog.NewTextHandler(&logs, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close(context.Background()) })
	key := strings.Repeat("k", 100) // under the default 256, over 64
	send := func() int {
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		r.Header.Set("X-Client-Id", key)
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		return w.Code
	}
	if code := send(); code != http.StatusOK {
		t.Fatalf("before the reload: %d, want 200", code)
	}
	if err := g.Reload(effective(t, base+"limits: {max_key_bytes: 64}\n")); err != nil {
		t.Fatal(err)
	}
	restart := strings.Contains(logs.String(), "needs a restart") && strings.Contains(logs.String(), "field=limits")
	code := send()
	if restart && code != http.StatusOK {
		t.Errorf("the reload logged that limits need a restart, yet the new max_key_bytes applies at once: a 100-byte key got %d (log: %s)", code, logs.String())
	}
	if !restart && code == http.StatusOK {
		t.Errorf("limits changed: neither applied nor named as needing a restart")
	}
}
