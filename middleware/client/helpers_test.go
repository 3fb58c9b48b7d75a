package client_test

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware/client"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// fakeClock is a settable clock whose timers fire when Advance passes them,
// on the goroutine that calls Advance. Safe for concurrent use.
type fakeClock struct {
	mu     sync.Mutex // protects the fields below
	now    time.Time
	timers []*fakeTimer
	asked  []time.Duration // every AfterFunc's duration, in order
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
}

func newClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) client.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	tm := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, tm)
	c.asked = append(c.asked, d)
	return tm
}

func (tm *fakeTimer) Stop() bool {
	tm.c.mu.Lock()
	defer tm.c.mu.Unlock()
	was := !tm.stopped
	tm.stopped = true
	return was
}

// Advance moves the clock on by d and runs the timers due, in time order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	keep := c.timers[:0]
	for _, tm := range c.timers {
		switch {
		case tm.stopped:
		case !tm.at.After(c.now):
			tm.stopped = true
			due = append(due, tm)
		default:
			keep = append(keep, tm)
		}
	}
	c.timers = keep
	c.mu.Unlock()
	slices.SortStableFunc(due, func(a, b *fakeTimer) int { return a.at.Compare(b.at) })
	for _, tm := range due {
		tm.f()
	}
}

// Asked returns the durations the timers were asked for.
func (c *fakeClock) Asked() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.asked)
}

// pending reports the number of timers not yet fired nor stopped.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, tm := range c.timers {
		if !tm.stopped {
			n++
		}
	}
	return n
}

// eventually yields until cond holds, failing after ten seconds of wall
// time (a bound, not a sleep: the loop yields the processor).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

// rtFunc is a RoundTripper from a function.
type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// response builds a response to r with a status, headers (name, value
// pairs) and a body.
func response(r *http.Request, status int, body string, hdr ...string) *http.Response {
	h := http.Header{}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Add(hdr[i], hdr[i+1])
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body)),
		Request: r, ProtoMajor: 1, ProtoMinor: 1}
}

// okRT answers 200 with a small body and no limit headers, counting calls
// and the most in flight at once (a call is in flight until its body is
// closed).
type okRT struct {
	calls, inFlight, maxInFlight atomic.Int64
}

func (o *okRT) RoundTrip(r *http.Request) (*http.Response, error) {
	o.calls.Add(1)
	n := o.inFlight.Add(1)
	for {
		m := o.maxInFlight.Load()
		if n <= m || o.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	resp := response(r, http.StatusOK, "{}")
	resp.Body = &countingBody{ReadCloser: resp.Body, done: func() { o.inFlight.Add(-1) }}
	return resp, nil
}

type countingBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *countingBody) Close() error {
	b.once.Do(b.done)
	return b.ReadCloser.Close()
}

// plan: a pool of credits over an hour, conc calls in flight, a bulk class
// of 1.
func plan(credits, conc int64) limiter.Plan {
	return limiter.Plan{Name: "test", Credits: credits, Window: time.Hour, Concurrency: conc,
		SubConcurrency: map[string]int64{"bulk": 1}}
}

// costs: GET /crm/{module} 1 credit, POST /crm/bulk 10 in class bulk,
// GET /crm/big 50, GET /free 0, POST /crm/{module} one credit per record of
// its body (the only body-priced route).
func costs(t testing.TB) *cost.Table {
	ct, err := cost.NewTable(1,
		cost.Route{Pattern: "GET /crm/{module}", Cost: 1},
		cost.Route{Pattern: "POST /crm/bulk", Cost: 10, Class: "bulk"},
		cost.Route{Pattern: "GET /crm/big", Cost: 50},
		cost.Route{Pattern: "GET /free", Cost: 0},
		cost.Route{Pattern: "POST /crm/{module}", Pricer: cost.RecordsCost("data", 1, 10, 1024)},
	)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// newTransport makes a Transport over base with a fake clock, and checks at
// the end that every body was closed and every slot given back.
func newTransport(t *testing.T, base http.RoundTripper, clk *fakeClock, opts ...client.Option) *client.Transport {
	t.Helper()
	return checkedTransport(t, base, append([]client.Option{client.WithClock(clk), client.WithCosts(costs(t)), client.WithBodyTracking()}, opts...)...)
}

// checkedTransport is client.New(base, opts...) with newTransport's checks
// at the end.
func checkedTransport(t *testing.T, base http.RoundTripper, opts ...client.Option) *client.Transport {
	t.Helper()
	tr, err := client.New(base, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		tr.CheckBodies(t)
		if n := tr.Waiters(); n != 0 {
			t.Errorf("%d calls still waiting", n)
		}
		_ = tr.Close(context.Background())
	})
	return tr
}

// get sends GET path for integration it (empty: none) with ctx.
func get(ctx context.Context, tr http.RoundTripper, it, path string) (*http.Response, error) {
	if it != "" {
		ctx = client.WithIntegration(ctx, it)
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://api.test"+path, nil)
	if err != nil {
		return nil, err
	}
	return tr.RoundTrip(r)
}

// mustGet is get that must succeed; it closes the body.
func mustGet(t testing.TB, tr http.RoundTripper, it, path string) *http.Response {
	t.Helper()
	resp, err := get(context.Background(), tr, it, path)
	if err != nil {
		t.Fatalf("GET %s as %q: %v", path, it, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

// remaining is the pool's remaining credits at the clock's time.
func remaining(tr *client.Transport, clk *fakeClock) int64 {
	return tr.Limiter().Peek(clk.Now(), "").Remaining
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// stat returns the named integration's counters.
func stat(tr *client.Transport, name string) client.IntegrationStats {
	for _, s := range tr.Stats().Integrations {
		if s.Name == name {
			return s
		}
	}
	return client.IntegrationStats{}
}

// mustLimiter returns a limiter of plan(100, 2) that the test closes.
func mustLimiter(t testing.TB) *limiter.Limiter {
	l, err := limiter.New(plan(100, 2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	return l
}
