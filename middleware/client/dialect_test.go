package client_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/middleware/client"
)

// dialect writes a server's pool state in one vendor's limit headers.
type dialect struct {
	name  string
	write func(h http.Header, limit, remaining int64, now time.Time)
}

var dialects = []dialect{
	{"zoho", func(h http.Header, limit, rem int64, _ time.Time) {
		h.Set("X-RATELIMIT-LIMIT", itoa(limit))
		h.Set("X-RATELIMIT-REMAINING", itoa(rem))
		h.Set("X-RATELIMIT-RESET", "900")
	}},
	{"zoho credits past half", func(h http.Header, limit, rem int64, _ time.Time) {
		if rem*2 <= limit {
			h.Set("X-API-CREDITS-REMAINING", itoa(rem))
		}
	}},
	{"ietf", func(h http.Header, limit, rem int64, _ time.Time) {
		h.Set("RateLimit-Policy", fmt.Sprintf(`"daily";q=%d;w=86400`, limit))
		h.Set("RateLimit", fmt.Sprintf(`"daily";r=%d;t=600`, rem))
	}},
	{"ietf two policies, daily second", func(h http.Header, limit, rem int64, _ time.Time) {
		h.Set("RateLimit-Policy", fmt.Sprintf(`"burst";q=100;w=10, "daily";q=%d;w=86400`, limit))
		h.Set("RateLimit", fmt.Sprintf(`"burst";r=99;t=1, "daily";r=%d;t=600`, rem))
	}},
	{"github", func(h http.Header, limit, rem int64, now time.Time) {
		h.Set("X-RateLimit-Limit", itoa(limit))
		h.Set("X-RateLimit-Remaining", itoa(rem))
		h.Set("X-RateLimit-Used", itoa(limit-rem))
		h.Set("X-RateLimit-Reset", itoa(now.Add(time.Hour).Unix()))
		h.Set("X-RateLimit-Resource", "core")
	}},
	{"hubspot", func(h http.Header, limit, rem int64, _ time.Time) {
		h.Set("X-HubSpot-RateLimit-Daily", itoa(limit))
		h.Set("X-HubSpot-RateLimit-Daily-Remaining", itoa(rem))
		h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
		h.Set("X-HubSpot-RateLimit-Max", "190")
		h.Set("X-HubSpot-RateLimit-Remaining", "189")
	}},
	{"salesforce", func(h http.Header, limit, rem int64, _ time.Time) {
		h.Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", limit-rem, limit))
	}},
}

// dialectServer is an independent fake API: a pool of limit credits of
// which external were spent by someone else before the test, one credit
// per call, reported in dialect d.
func dialectServer(t *testing.T, d dialect, limit, external int64) *httptest.Server {
	var mu sync.Mutex
	spent := external
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		spent++
		rem := limit - spent
		mu.Unlock()
		d.write(w.Header(), limit, rem, time.Now())
		fmt.Fprint(w, `{"data":[]}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Each dialect's view of the pool is reconciled: what the server counts and
// this client did not spend is charged as external, exactly once.
func TestDialectsExternalSpend(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			const limit, external = 1000, 600
			srv := dialectServer(t, d, limit, external)
			clk := newClock()
			tr := newTransport(t, srv.Client().Transport, clk, client.WithPlan(plan(limit, 4)))
			for range 5 {
				mustGetURL(t, tr, srv.URL+"/crm/Leads")
			}
			assert.Equal(t, int64(external), tr.Stats().External)
			assert.Equal(t, int64(limit-external-5), remaining(tr, clk))
			assert.Equal(t, int64(external), stat(tr, client.Outside).Credits)
		})
	}
}

// Absurd or hostile values are ignored: nothing is charged, nothing panics.
func TestDialectsAbsurdValues(t *testing.T) {
	for _, hv := range [][2]string{
		{"X-RATELIMIT-REMAINING", "-5"},
		{"X-RATELIMIT-REMAINING", "99999999999999999999999"},
		{"X-RATELIMIT-REMAINING", "12abc"},
		{"X-RATELIMIT-REMAINING", ""},
		{"X-RATELIMIT-LIMIT", "0"},
		{"X-API-CREDITS-REMAINING", "1e6"},
		{"RateLimit", `"daily";r=-1;t=5`},
		{"RateLimit", `"daily";r=1000000000000000000000`},
		{"RateLimit", `daily;r=0`},
		{"Sforce-Limit-Info", "api-usage=5/0"},
		{"Sforce-Limit-Info", "api-usage=/"},
		{"X-HubSpot-RateLimit-Daily-Remaining", "-3"},
		{"Retry-After", "99999999999999"},
	} {
		t.Run(hv[0]+"="+hv[1], func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header()[http.CanonicalHeaderKey(hv[0])] = []string{hv[1]}
			}))
			defer srv.Close()
			clk := newClock()
			tr := newTransport(t, srv.Client().Transport, clk, client.WithPlan(plan(100, 4)))
			for range 3 {
				mustGetURL(t, tr, srv.URL+"/crm/Leads")
			}
			assert.Zero(t, tr.Stats().External)
			assert.Equal(t, int64(97), remaining(tr, clk))
			assert.Equal(t, int64(100), tr.Limiter().Plan("").Credits)
		})
	}
}

// With no plan, the pool and its window are learned from the first
// response; until then one call at a time goes out.
func TestZeroConfigLearnsPool(t *testing.T) {
	d := dialects[2] // IETF: says the window too
	srv := dialectServer(t, d, 500, 0)
	clk := newClock()
	tr, err := client.New(srv.Client().Transport, client.WithClock(clk))
	require.NoError(t, err)
	defer tr.Close(t.Context())
	assert.Equal(t, int64(1), tr.Limiter().Plan("").Concurrency, "one call until the first response")
	mustGetURL(t, tr, srv.URL+"/crm/Leads")
	p := tr.Limiter().Plan("")
	assert.Equal(t, int64(500), p.Credits)
	assert.Equal(t, 24*time.Hour, p.Window)
	assert.Equal(t, int64(client.DefaultConcurrency), p.Concurrency)
	assert.Equal(t, int64(499), remaining(tr, clk))
}

// A learned pool follows a new limit (add-on credits bought).
func TestLearnedPoolFollowsLimit(t *testing.T) {
	limit := int64(300)
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("X-RATELIMIT-LIMIT", strconv.FormatInt(limit, 10))
	}))
	defer srv.Close()
	clk := newClock()
	tr, err := client.New(srv.Client().Transport, client.WithClock(clk))
	require.NoError(t, err)
	defer tr.Close(t.Context())
	mustGetURL(t, tr, srv.URL+"/")
	assert.Equal(t, int64(300), tr.Limiter().Plan("").Credits)
	mu.Lock()
	limit = 800
	mu.Unlock()
	mustGetURL(t, tr, srv.URL+"/")
	assert.Equal(t, int64(800), tr.Limiter().Plan("").Credits)
}

func mustGetURL(t testing.TB, tr http.RoundTripper, url string) {
	t.Helper()
	// Fail-fast: a call the transport would hold back fails the test at
	// once instead of waiting on the fake clock.
	r, err := http.NewRequestWithContext(client.WithFailFast(context.Background()), http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := tr.RoundTrip(r)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
}

// The headers of successes are read at most once per WithReconcileEvery;
// with 0, every response's are.
func TestReconcileEvery(t *testing.T) {
	for _, tc := range []struct {
		every time.Duration
		want  int64 // external spend seen after two calls at one instant
	}{{time.Millisecond, 10}, {0, 20}} {
		clk := newClock()
		var calls, external int64
		base := rtFunc(func(r *http.Request) (*http.Response, error) {
			calls++
			external += 10 // someone else spends 10 beside each of our calls
			return response(r, 200, "", "X-RATELIMIT-REMAINING", itoa(1000-calls-external)), nil
		})
		tr := newTransport(t, base, clk, client.WithPlan(plan(1000, 1)), client.WithReconcileEvery(tc.every))
		mustGet(t, tr, "", "/crm/Leads")
		mustGet(t, tr, "", "/crm/Leads")
		assert.Equal(t, tc.want, tr.Stats().External, "every %v", tc.every)
		clk.Advance(time.Millisecond)
		mustGet(t, tr, "", "/crm/Leads")
		assert.Equal(t, int64(30), tr.Stats().External, "read again a period later")
		assert.Equal(t, int64(1000-3-30), remaining(tr, clk))
	}
}
