package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creditgate/creditgate/cmd/creditgate/internal/config"
	"github.com/creditgate/creditgate/limiter"
)

// AlertPayload is the JSON body POSTed to the webhook for one crossing. ID is
// the same on every attempt, so that a receiver can drop a repeat (a retry
// after a response that was lost).
type AlertPayload struct {
	ID        string    `json:"id"`
	Tenant    string    `json:"tenant"`
	Threshold int       `json:"threshold"` // percent of the pool
	Used      int64     `json:"used"`
	Limit     int64     `json:"limit"`
	At        time.Time `json:"at"`
}

// alerts delivers the limiter's threshold crossings to the log and to a
// webhook: Notify logs and queues without blocking; one goroutine POSTs each
// alert, retrying with exponential backoff for a bounded number of attempts.
// The queue is bounded: alerts past it are dropped and counted.
type alerts struct {
	log    *slog.Logger
	m      *metrics
	cfg    config.Webhook // Timeout, MaxAttempts, backoffs, Queue
	url    atomic.Pointer[string]
	client *http.Client
	queue  chan AlertPayload
	// sleep waits d or until ctx ends (a fake in tests).
	sleep func(ctx context.Context, d time.Duration) error

	mu     sync.RWMutex // guards closed against sends on the closed queue
	closed bool
	ctx    context.Context // cancelled by Close when its deadline passes
	cancel context.CancelFunc
	done   chan struct{}
}

func newAlerts(cfg config.Webhook, log *slog.Logger, m *metrics) *alerts {
	ctx, cancel := context.WithCancel(context.Background())
	a := &alerts{
		log: log, m: m, cfg: cfg,
		client: &http.Client{Timeout: cfg.Timeout, CheckRedirect: keepPOST},
		queue:  make(chan AlertPayload, cfg.Queue),
		sleep:  sleepCtx,
		ctx:    ctx, cancel: cancel,
		done: make(chan struct{}),
	}
	a.setURL(cfg.URL)
	return a
}

// start runs the deliverer; separate from newAlerts so tests can set sleep.
func (a *alerts) start() { go a.run() }

func (a *alerts) setURL(u string) { a.url.Store(&u) }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// notify is the limiter's alert function: it runs on the limiter's alert
// goroutine, never inside a request, and never blocks.
func (a *alerts) notify(al limiter.Alert) {
	a.m.crossings.WithLabelValues(strconv.Itoa(al.Threshold)).Inc()
	a.log.Warn("usage alert: tenant crossed a threshold",
		slog.String("tenant", al.Tenant), slog.Int("threshold", al.Threshold),
		slog.Int64("used", al.Used), slog.Int64("limit", al.Limit))
	if *a.url.Load() == "" {
		return
	}
	p := AlertPayload{
		ID:     fmt.Sprintf("%s/%d/%d", al.Tenant, al.Threshold, al.At.UnixNano()),
		Tenant: al.Tenant, Threshold: al.Threshold, Used: al.Used, Limit: al.Limit, At: al.At.UTC(),
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		return // the limiter outlived Close's deadline
	}
	select {
	case a.queue <- p:
	default:
		a.m.webhook.WithLabelValues("dropped").Inc()
		a.log.Error("usage alert dropped: the webhook queue is full", slog.String("tenant", al.Tenant), slog.Int("threshold", al.Threshold))
	}
}

func (a *alerts) run() {
	defer close(a.done)
	for p := range a.queue {
		a.deliver(p)
	}
}

// deliver POSTs p until it is accepted (2xx), refused for good (another 4xx
// than 408 and 429), the attempts run out or Close gives up.
func (a *alerts) deliver(p AlertPayload) {
	body, _ := json.Marshal(p)
	backoff := a.cfg.InitialBackoff
	for attempt := 1; ; attempt++ {
		url := *a.url.Load()
		if url == "" {
			return // the webhook was removed by a reload
		}
		a.m.attempts.Inc()
		status, retryAfter, err := a.post(url, body, p.ID)
		switch {
		case err == nil && status >= 200 && status < 300:
			a.m.webhook.WithLabelValues("delivered").Inc()
			return
		case err == nil && status >= 300 && status < 400:
			// A redirect that would turn the POST into a bodiless GET
			// (301, 302, 303): not followed (see keepPOST), and no later
			// attempt fares better.
			a.fail(p, attempt, fmt.Errorf("redirected with status %d (%s): point alerts.webhook.url at where it leads", status, http.StatusText(status)))
			return
		case err == nil && status >= 400 && status < 500 && status != 408 && status != 429:
			a.fail(p, attempt, fmt.Errorf("refused with status %d", status))
			return
		case attempt >= a.cfg.MaxAttempts:
			if err == nil {
				err = fmt.Errorf("status %d", status)
			}
			a.fail(p, attempt, err)
			return
		}
		wait := max(backoff, min(retryAfter, a.cfg.MaxBackoff))
		if a.sleep(a.ctx, wait) != nil {
			a.fail(p, attempt, a.ctx.Err())
			return
		}
		backoff = min(2*backoff, a.cfg.MaxBackoff)
	}
}

func (a *alerts) fail(p AlertPayload, attempts int, err error) {
	a.m.webhook.WithLabelValues("failed").Inc()
	a.log.Error("usage alert not delivered to the webhook",
		slog.String("tenant", p.Tenant), slog.Int("threshold", p.Threshold),
		slog.Int("attempts", attempts), slog.String("error", err.Error()))
}

// keepPOST follows a redirect only if it keeps the method (307, 308: the
// body is sent again); one that would turn the POST into a bodiless GET
// ends the attempt with the redirect as its response, or the alert would
// count as delivered while its payload reached no one.
func keepPOST(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if req.Method != via[0].Method {
		return http.ErrUseLastResponse
	}
	return nil
}

// post makes one attempt; retryAfter is the receiver's Retry-After, if any.
func (a *alerts) post(url string, body []byte, id string) (status int, retryAfter time.Duration, err error) {
	req, err := http.NewRequestWithContext(a.ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", id)
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // reuse the connection
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		retryAfter = time.Duration(s) * time.Second
	}
	return resp.StatusCode, retryAfter, nil
}

// close stops taking alerts and delivers those queued until ctx ends, then
// abandons the rest (each is logged as not delivered) and waits for the
// goroutine to exit. Call it after the limiter is closed: the limiter hands
// over the crossings it still holds when it closes.
func (a *alerts) close(ctx context.Context) error {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.queue)
	}
	a.mu.Unlock()
	select {
	case <-a.done:
		a.cancel()
		return nil
	case <-ctx.Done():
		a.cancel()
		<-a.done
		return ctx.Err()
	}
}
