package client_test

import (
	"bufio"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/middleware/client"
)

// A method override set under a key net/http did not canonicalise
// (r.Header["x-http-method-override"], as code that builds its header map
// by hand, or copies one from an HTTP/2 source, has) is sent as written,
// and the server, which reads header names without regard to case, runs
// the request as a POST. idempotentOverride (cost.OverrideMethods) reads
// only the canonical keys: the write is retried on a 503 (Retry5xx) or a
// 429 as if it were a GET, and sent twice.
func TestRetryReadsNonCanonicalMethodOverride(t *testing.T) {
	// What the server reads: the header as net/http writes it.
	r0, err := http.NewRequest(http.MethodGet, "http://api.test/crm/Leads/7", nil)
	require.NoError(t, err)
	r0.Header["x-http-method-override"] = []string{"POST"}
	var sb strings.Builder
	require.NoError(t, r0.Write(&sb))
	srv, err := http.ReadRequest(bufio.NewReader(strings.NewReader(sb.String())))
	require.NoError(t, err)
	require.Equal(t, "POST", srv.Header.Get("X-HTTP-Method-Override"), "the server reads the override")

	for _, st := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		t.Run(http.StatusText(st), func(t *testing.T) {
			clk := newClock()
			s := &script{steps: []step{{st, "", nil}, {200, "ok", nil}}}
			tr, held := heldTransport(t, s, clk, plan(100, 5), client.WithRetry(client.RetryPolicy{Retry5xx: true}))
			r, err := http.NewRequest(http.MethodGet, "http://api.test/crm/Leads/7", nil)
			require.NoError(t, err)
			r.Header["x-http-method-override"] = []string{"POST"}
			resp, err := advancing(t, clk, time.Second, func() (*http.Response, error) { return tr.RoundTrip(r) })
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			assert.Equal(t, int64(1), s.calls.Load(), "a POST (by its override) sent again")
			assert.Zero(t, held())
		})
	}
}

// The same override, non-canonical, on a cached route: the write is
// answered from the cache (the GET's answer) and never sent.
func TestCacheReadsNonCanonicalMethodOverride(t *testing.T) {
	clk := newClock()
	var calls atomic.Int64
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		return response(r, http.StatusOK, "{}"), nil
	})
	tr, held := heldTransport(t, base, clk, plan(100, 5),
		client.WithCaching(client.CacheRule{Route: "GET /crm/{module}", TTL: time.Minute}))
	mustGet(t, tr, "", "/crm/Leads")
	r, err := http.NewRequest(http.MethodGet, "http://api.test/crm/Leads", nil)
	require.NoError(t, err)
	r.Header["x-http-method-override"] = []string{"DELETE"}
	resp, err := tr.RoundTrip(r)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, int64(2), calls.Load(), "the DELETE (by its override) sent, not answered from the cache")
	assert.Zero(t, held())
}
