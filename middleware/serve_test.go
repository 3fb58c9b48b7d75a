package middleware

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
)

func TestClientDisconnectReleases(t *testing.T) {
	returned := make(chan struct{})
	entered := make(chan struct{})
	var e *env
	e = newEnv(t, testPlan(100, 1, 5), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !r.URL.Query().Has("hold") {
			return
		}
		close(entered)
		<-r.Context().Done() // net/http cancels it when the client goes away
		close(returned)
	}))
	srv := httptest.NewServer(e.h)
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+"/crm/Leads?hold", nil)
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	assert.Equal(t, http.StatusTooManyRequests, e.do("GET", "/crm/Leads", "").Code, "the held request has the only slot")
	cancel()
	<-done
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler never saw the client go away")
	}
	// The deferred release runs right after the handler returns; poll briefly
	// for the server goroutine to get there.
	require.Eventually(t, func() bool {
		return e.do("GET", "/crm/Leads", "").Code == http.StatusOK
	}, 10*time.Second, time.Millisecond, "the slot came back after the client went away")
}

func TestInFlightNeverAboveCap(t *testing.T) {
	const capacity, workers, perWorker = 3, 12, 40
	var inFlight, peak atomic.Int64
	e := newEnv(t, testPlan(1<<40, capacity, 2), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		for range 100 {
			// Yield while holding the slot so that others pile up.
			time.Sleep(0)
		}
		inFlight.Add(-1)
	}))
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range perWorker {
				switch e.do("GET", "/crm/Leads", "", HeaderClientID, "app").Code {
				case http.StatusOK:
					ok.Add(1)
				case http.StatusTooManyRequests:
					refused.Add(1)
				default:
					t.Error("unexpected status")
				}
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, peak.Load(), int64(capacity))
	assert.Equal(t, int64(workers*perWorker), ok.Load()+refused.Load())
	assert.Positive(t, ok.Load())
	assert.Equal(t, ok.Load(), (1<<40)-e.l.Peek(e.clock.Now(), "").Remaining, "one credit per admitted call")
}

func TestShadowMode(t *testing.T) {
	var hooked []bool
	var buf strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&syncWriter{w: &buf, mu: &mu}, nil))
	tests := []struct {
		name        string
		opts        []Option
		bulkShadow  bool
		leadsShadow bool
	}{
		{"global", []Option{WithShadowAll()}, true, true},
		{"per route", []Option{WithShadow("POST /crm/bulk")}, true, false},
		{"off", nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hooked = hooked[:0]
			var cs Counters
			calls := 0
			opts := append([]Option{WithCounters(&cs), WithLogger(logger), WithDecisionHook(func(r *http.Request, d limiter.Decision, shadow bool) {
				hooked = append(hooked, shadow)
				assert.False(t, d.Allowed)
				assert.Equal(t, limiter.ReasonCredits, d.Reason)
			})}, tt.opts...)
			e := newEnv(t, testPlan(6, 5, 5), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls++ }), opts...)
			require.Equal(t, http.StatusOK, e.do("POST", "/crm/bulk", "").Code)
			require.Equal(t, http.StatusOK, e.do("GET", "/crm/Leads", "").Code) // pool now empty

			rec := e.do("POST", "/crm/bulk", "")
			if tt.bulkShadow {
				assert.Equal(t, http.StatusOK, rec.Code)
				assert.Empty(t, rec.Header().Get(HeaderLimit), "no headers on shadow refusals by default")
			} else {
				assert.Equal(t, http.StatusTooManyRequests, rec.Code)
			}
			rec = e.do("GET", "/crm/Leads", "")
			if tt.leadsShadow {
				assert.Equal(t, http.StatusOK, rec.Code)
			} else {
				assert.Equal(t, http.StatusTooManyRequests, rec.Code)
			}
			shadowed := int64(0)
			for _, s := range []bool{tt.bulkShadow, tt.leadsShadow} {
				if s {
					shadowed++
				}
			}
			assert.Equal(t, 2+int(shadowed), calls)
			assert.Equal(t, shadowed, cs.ShadowRefused.Load())
			assert.Equal(t, 2-shadowed, cs.Refused.Load())
			assert.Equal(t, int64(2), cs.Admitted.Load())
			assert.Equal(t, []bool{tt.bulkShadow, tt.leadsShadow}, hooked)
			assert.Equal(t, int64(0), e.l.Peek(e.clock.Now(), "").Remaining, "shadow refusals spend nothing")
		})
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, buf.String(), "would be refused (shadow mode)")
	assert.Contains(t, buf.String(), "reason=credits")
}

func TestShadowHeaders(t *testing.T) {
	var reported []bool
	e := newEnv(t, testPlan(5, 5, 5), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reported = append(reported, ReportCost(w, 5))
	}), WithShadowAll(), WithShadowHeaders())
	e.do("POST", "/crm/bulk", "")
	rec := e.do("POST", "/crm/bulk", "")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "0", rec.Header().Get(HeaderRemaining))
	assert.Empty(t, rec.Header().Get(HeaderRetryAfter))
	assert.Equal(t, []bool{true, false}, reported, "a shadow refusal holds nothing to report to")
}

type syncWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func TestStreamingAndHijack(t *testing.T) {
	var e *env
	e = newEnv(t, testPlan(100, 1, 5), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/crm/stream":
			_, _ = io.WriteString(w, "one\n")
			w.(http.Flusher).Flush()
			require.NoError(t, http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute)))
			_, _ = io.WriteString(w, "two\n")
		case "/crm/hijack":
			conn, brw, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
			_ = brw.Flush()
		}
	}))
	srv := httptest.NewServer(e.h)
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL + "/crm/stream")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "one\ntwo\n", string(body))
	assert.Equal(t, "99", resp.Header.Get(HeaderRemaining))

	resp, err = srv.Client().Get(srv.URL + "/crm/hijack")
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "hijacked", string(body))
	require.Eventually(t, func() bool {
		return e.do("GET", "/crm/x", "").Code == http.StatusOK
	}, 10*time.Second, time.Millisecond, "the hijacking handler returned, so its slot is free")
	assert.Equal(t, int64(97), e.l.Peek(e.clock.Now(), "").Remaining, "a hijacked response is not refunded as a 5xx")
}

func TestWriterWithoutFlusher(t *testing.T) {
	w := &responseWriter{ResponseWriter: plainWriter{httptest.NewRecorder()}}
	w.WriteHeader(http.StatusContinue)
	assert.Equal(t, int32(0), w.status, "1xx is informational")
	w.WriteHeader(http.StatusTeapot)
	assert.Equal(t, http.StatusTeapot, w.statusOrOK())
	w.Flush() // must not panic when the underlying writer cannot flush
	_, _, err := w.Hijack()
	assert.ErrorIs(t, err, http.ErrNotSupported)
	assert.False(t, w.hijacked)

	w = &responseWriter{ResponseWriter: plainWriter{httptest.NewRecorder()}}
	w.Flush()
	assert.Equal(t, int32(http.StatusOK), w.status, "flushing commits a 200")
}

type plainWriter struct{ r *httptest.ResponseRecorder }

func (p plainWriter) Header() http.Header         { return p.r.Header() }
func (p plainWriter) Write(b []byte) (int, error) { return p.r.Write(b) }
func (p plainWriter) WriteHeader(code int)        { p.r.WriteHeader(code) }

func TestAlertsFireThroughTheLimiter(t *testing.T) {
	got := make(chan limiter.Alert, 10)
	l, err := limiter.New(testPlan(10, 5, 5), limiter.WithAlerts([]int{50, 100}, func(a limiter.Alert) { got <- a }))
	require.NoError(t, err)
	h, err := New(okHandler(), l, testCosts(t), WithClock(newClock().Now))
	require.NoError(t, err)
	for range 10 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/crm/Leads", nil))
		require.Equal(t, http.StatusOK, rec.Code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, l.Close(ctx))
	close(got)
	var thresholds []int
	for a := range got {
		thresholds = append(thresholds, a.Threshold)
	}
	assert.Equal(t, []int{50, 100}, thresholds)
}

// Every key function runs once per request, on every path that writes the
// IETF fields or logs a refusal: the tenant and application are looked up
// once and reused.
func TestKeyFuncsOncePerRequest(t *testing.T) {
	var tenants, apps, users, ips atomic.Int64
	keys := Keys{
		Tenant: func(*http.Request) string { tenants.Add(1); return "" },
		App:    func(*http.Request) string { apps.Add(1); return "a" },
		User:   func(*http.Request) string { users.Add(1); return "u" },
		IP:     func(*http.Request) string { ips.Add(1); return "192.0.2.1" },
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name string
		opts []Option
		want int // status of the third request, after two that spend the pool
	}{
		{"refused", nil, http.StatusTooManyRequests},
		{"shadow", []Option{WithShadowAll(), WithShadowHeaders()}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tenants.Store(0)
			apps.Store(0)
			users.Store(0)
			ips.Store(0)
			opts := append([]Option{keys, WithIETFHeaders(""), WithLogger(logger)}, tc.opts...)
			e := newEnv(t, testPlan(10, 5, 5), okHandler(), opts...)
			assert.Equal(t, http.StatusOK, e.do("POST", "/crm/bulk", "").Code)
			assert.Equal(t, http.StatusOK, e.do("POST", "/crm/bulk", "").Code)
			rec := e.do("POST", "/crm/bulk", "")
			assert.Equal(t, tc.want, rec.Code)
			assert.Equal(t, `"credits";q=10;w=86400`, rec.Header().Get(HeaderRateLimitPolicy))
			for name, n := range map[string]int64{"tenant": tenants.Load(), "app": apps.Load(),
				"user": users.Load(), "ip": ips.Load()} {
				assert.Equal(t, int64(3), n, "%s key calls for 3 requests", name)
			}
		})
	}
}

// TestHeaderSlicesNotShared: a handler (or an outer middleware) that reuses a
// header's slice in place must change only its own response. The admitted
// path's LIMIT (cached) and the 429's Content-Type (package-level) slices
// used to be shared by every response.
func TestHeaderSlicesNotShared(t *testing.T) {
	e := newEnv(t, testPlan(100, 10, 1), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Evil") != "" {
			h := w.Header()
			h[keyLimit] = append(h[keyLimit][:0], "tampered")
			h[keyReset][0] = "tampered"
		}
		_, _ = io.WriteString(w, "ok")
	}))
	_ = e.do("GET", "/crm/Leads", "", "X-Evil", "1")
	rec := e.do("GET", "/crm/Leads", "")
	assert.Equal(t, "100", rec.Header().Get(HeaderLimit))
	assert.NotEqual(t, "tampered", rec.Header().Get(HeaderReset))

	e2 := newEnv(t, testPlan(1, 10, 1), okHandler())
	_ = e2.do("GET", "/crm/Leads", "")
	rr := e2.do("GET", "/crm/Leads", "")
	require.Equal(t, http.StatusTooManyRequests, rr.Code)
	ct := rr.Header()["Content-Type"]
	_ = append(ct[:0], "text/html")
	rr.Header()["X-Content-Type-Options"][0] = "x"
	rr = e2.do("GET", "/crm/Leads", "")
	assert.Equal(t, "application/problem+json", rr.Header().Get("Content-Type"))
	assert.Equal(t, "nosniff", rr.Header().Get("X-Content-Type-Options"))
}
