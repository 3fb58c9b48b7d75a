package middleware

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/usage"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex // protects t
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testPlan: a pool of credits, one concurrency cap per app and a "bulk" class.
func testPlan(credits, conc, bulk int64) limiter.Plan {
	return limiter.Plan{
		Name: "test", Credits: credits, Concurrency: conc,
		SubConcurrency: map[string]int64{"bulk": bulk},
	}
}

// testRoutes: GET /crm/{module} costs 1, POST /crm/bulk costs 5 in class bulk,
// POST /crm/{module} costs one credit per record of the body (at most 10, body
// at most 64 bytes); GET /crm/composite costs 1 and takes 2 units of the
// application's concurrency cap.
func testCosts(t testing.TB) *cost.Table {
	ct, err := cost.NewTable(1,
		cost.Route{Pattern: "GET /crm/{module}", Cost: 1},
		cost.Route{Pattern: "POST /crm/bulk", Cost: 5, Class: "bulk"},
		cost.Route{Pattern: "POST /crm/{module}", Pricer: cost.RecordsCost("data", 1, 10, 64)},
		cost.Route{Pattern: "GET /free", Cost: 0},
		cost.Route{Pattern: "GET /crm/composite", Cost: 1, Units: 2},
	)
	require.NoError(t, err)
	return ct
}

type env struct {
	l     *limiter.Limiter
	h     http.Handler
	clock *fakeClock
	usage *usage.Stats
}

func newEnv(t testing.TB, plan limiter.Plan, next http.Handler, opts ...Option) *env {
	t.Helper()
	u := usage.New(48*time.Hour, 100)
	t.Cleanup(func() { _ = u.Close(context.Background()) })
	l, err := limiter.New(plan, limiter.WithUsage(u))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close(context.Background()) }) // stops the usage goroutine
	clock := newClock()
	h, err := New(next, l, testCosts(t), append([]Option{WithClock(clock.Now)}, opts...)...)
	require.NoError(t, err)
	return &env{l: l, h: h, clock: clock, usage: u}
}

func (e *env) do(method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	return rec
}

func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})
}

// problem is the default error body (problemBodies), for decoding.
type problem struct {
	Type       string `json:"type"`
	Title      string `json:"title"`
	Status     int    `json:"status"`
	Detail     string `json:"detail"`
	By         string `json:"by,omitempty"`
	Class      string `json:"class,omitempty"`
	Cost       *int64 `json:"cost,omitempty"`
	Units      *int64 `json:"units,omitempty"`
	Limit      int64  `json:"limit,omitempty"`
	Remaining  *int64 `json:"remaining,omitempty"`
	ResetTime  string `json:"reset_time,omitempty"`
	RetryAfter int64  `json:"retry_after,omitempty"`
}

// decodeBody decodes a default error body, checking that it is the problem
// details of the response's status.
func decodeBody(t testing.TB, rec *httptest.ResponseRecorder) problem {
	t.Helper()
	var b problem
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &b), "body %q", rec.Body.String())
	require.Equal(t, "about:blank", b.Type)
	require.Equal(t, rec.Code, b.Status)
	require.Equal(t, http.StatusText(rec.Code), b.Title)
	require.Equal(t, []string{"application/problem+json"}, rec.Header().Values("Content-Type"))
	require.Equal(t, []string{"nosniff"}, rec.Header().Values("X-Content-Type-Options"))
	return b
}

// limitHeaders picks the limit fields out of h, for exact comparisons.
func limitHeaders(h http.Header) http.Header {
	out := http.Header{}
	for _, k := range []string{HeaderLimit, HeaderRemaining, HeaderReset, HeaderCreditsRemaining,
		HeaderRetryAfter, HeaderRateLimitPolicy, HeaderRateLimit} {
		if v := h.Values(k); len(v) > 0 {
			out[http.CanonicalHeaderKey(k)] = v
		}
	}
	return out
}

// newStats returns usage statistics closed when the test ends.
func newStats(t testing.TB) *usage.Stats {
	u := usage.New(time.Hour, 10)
	t.Cleanup(func() { _ = u.Close(context.Background()) })
	return u
}
