package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/creditgate/creditgate/cmd/creditgate/internal/config"
	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/store/memory"
)

// webhook records what it is sent and fails the first `fail` attempts.
type webhook struct {
	mu       sync.Mutex
	fail     int
	status   int // the failures' status
	bodies   []AlertPayload
	keys     []string
	accepted int
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p AlertPayload
	body, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(body, &p)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.bodies = append(h.bodies, p)
	h.keys = append(h.keys, r.Header.Get("Idempotency-Key"))
	if len(h.bodies) <= h.fail {
		w.WriteHeader(h.status)
		return
	}
	h.accepted++
}

func testAlerts(t *testing.T, url string, attempts int) (*alerts, *[]time.Duration) {
	t.Helper()
	var cs middleware.Counters
	l, err := limiter.New(limiter.Plan{Credits: 10, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	m := newMetrics(&cs, l, memBacking{memory.New()}, 5, 5)
	cfg := config.Default().Alerts.Webhook
	cfg.URL, cfg.MaxAttempts, cfg.Queue = url, attempts, 2
	a := newAlerts(cfg, quiet(), m)
	var waits []time.Duration
	a.sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d) // only the deliverer goroutine sleeps
		return ctx.Err()
	}
	return a, &waits
}

func TestWebhookRetriesUntilDelivered(t *testing.T) {
	hook := &webhook{fail: 2, status: http.StatusServiceUnavailable}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	a, waits := testAlerts(t, srv.URL, 5)
	a.start()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	a.notify(limiter.Alert{Tenant: "acme", Threshold: 80, Used: 800, Limit: 1000, At: at})
	if err := a.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(hook.bodies) != 3 || hook.accepted != 1 {
		t.Fatalf("attempts %d, accepted %d; want 3 and 1", len(hook.bodies), hook.accepted)
	}
	want := AlertPayload{ID: hook.bodies[0].ID, Tenant: "acme", Threshold: 80, Used: 800, Limit: 1000, At: at}
	for i, b := range hook.bodies {
		if b != want || hook.keys[i] != b.ID || b.ID == "" {
			t.Errorf("attempt %d: %+v (key %q), want %+v", i, b, hook.keys[i], want)
		}
	}
	if got := *waits; len(got) != 2 || got[0] != time.Second || got[1] != 2*time.Second {
		t.Errorf("backoff waits = %v, want [1s 2s]", got)
	}
	if v := counterValue(t, a.m.webhook.WithLabelValues("delivered")); v != 1 {
		t.Errorf("delivered = %v", v)
	}
}

func TestWebhookGivesUp(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		attempts int
	}{
		{"attempts run out", http.StatusInternalServerError, 3},
		{"refused for good", http.StatusBadRequest, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hook := &webhook{fail: 100, status: tc.status}
			srv := httptest.NewServer(hook)
			defer srv.Close()
			a, _ := testAlerts(t, srv.URL, 3)
			a.start()
			a.notify(limiter.Alert{Tenant: "t", Threshold: 90, Used: 9, Limit: 10, At: time.Now()})
			_ = a.close(context.Background())
			if len(hook.bodies) != tc.attempts {
				t.Fatalf("attempts = %d, want %d", len(hook.bodies), tc.attempts)
			}
			if v := counterValue(t, a.m.webhook.WithLabelValues("failed")); v != 1 {
				t.Errorf("failed = %v", v)
			}
		})
	}
}

// notify never blocks: with the deliverer not running, alerts past the
// queue are dropped and counted.
func TestNotifyDropsWhenFull(t *testing.T) {
	a, _ := testAlerts(t, "http://127.0.0.1:1/", 1)
	for i := range 5 {
		a.notify(limiter.Alert{Tenant: "t", Threshold: 80 + i, At: time.Now()})
	}
	if v := counterValue(t, a.m.webhook.WithLabelValues("dropped")); v != 3 {
		t.Fatalf("dropped = %v, want 3 (queue of 2)", v)
	}
	if v := counterValue(t, a.m.crossings.WithLabelValues("84")); v != 1 {
		t.Fatalf("crossings{84} = %v", v)
	}
	a.start()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // give up on the queued ones at once
	_ = a.close(ctx)
	a.notify(limiter.Alert{Tenant: "late"}) // after close: ignored, no panic
}
