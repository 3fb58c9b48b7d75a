package client_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/profile/zoho"
	"github.com/creditgate/creditgate/store/memory"
)

// Tests of the saving features from a user's side: a Transport shared by
// the goroutines of many users (each with credentials of its own, or none
// yet), as an http.Client's Transport in a multi-user process.

// newZohoHeld is newZoho over a limiter of its own, on a plain memory store
// (no slot cache), so that held reports the slots its calls hold: every
// test ends with none held.
func newZohoHeld(t *testing.T, base http.RoundTripper, opts ...client.Option) (tr *client.Transport, held func() int64) {
	t.Helper()
	ct, err := zoho.CostTable()
	require.NoError(t, err)
	p, err := zoho.Edition("enterprise", 10)
	require.NoError(t, err)
	ms := memory.New()
	l, err := limiter.New(p, limiter.WithStore(ms))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close(context.Background()) }) // after the Transport's
	all := append([]client.Option{client.WithClock(bubbleClock{}), client.WithCosts(ct), client.WithLimiter(l),
		client.WithBodyTracking()}, opts...)
	tr, err = client.New(base, all...)
	require.NoError(t, err)
	held = func() int64 {
		var n int64
		for tenant := range ms.Tenants() {
			n += ms.Held(tenant)
		}
		return n
	}
	t.Cleanup(func() {
		assert.NoError(t, tr.Close(context.Background()))
		tr.CheckBodies(t)
		assert.Zero(t, held(), "slots still held")
	})
	return tr, held
}

// sessionRT is a server that answers each call with a new session id in
// the body and, unless private, opens the session for a call that comes
// without one (Set-Cookie); private answers say Cache-Control private.
// Each call takes 50 ms (of a synctest bubble).
type sessionRT struct {
	calls   atomic.Int64
	private bool
}

func (s *sessionRT) RoundTrip(r *http.Request) (*http.Response, error) {
	n := s.calls.Add(1)
	time.Sleep(50 * time.Millisecond)
	resp := response(r, http.StatusOK, fmt.Sprintf(`{"session":%d}`, n))
	if s.private {
		resp.Header.Set("Cache-Control", "private")
	} else if _, err := r.Cookie("session"); err != nil {
		resp.Header.Set("Set-Cookie", fmt.Sprintf("session=%d; HttpOnly", n))
	}
	return resp, nil
}

// concurrently runs n copies of f at once and returns their results.
func concurrently[T any](n int, f func(i int) T) []T {
	out := make([]T, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { out[i] = f(i) })
	}
	wg.Wait()
	return out
}

// got is what one caller of a read got.
type got struct {
	status    int
	setCookie string
	body      string
	length    int64
	err       error
}

// read sends r on tr, reads and closes the answer.
func read(tr http.RoundTripper, r *http.Request) got {
	resp, err := tr.RoundTrip(r)
	if err != nil {
		return got{err: err}
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return got{status: resp.StatusCode, setCookie: resp.Header.Get("Set-Cookie"), body: string(b),
		length: resp.ContentLength, err: err}
}

func newReq(t testing.TB, ctx context.Context, method, url string, hdr ...string) *http.Request {
	r, err := http.NewRequestWithContext(ctx, method, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	return r
}

// Two users' first calls, anonymous and concurrent, must not share the
// session the server opens for one of them: a coalesced answer that sets a
// cookie went to every caller, so that users with cookie jars of their own
// (one http.Client each over the shared Transport) ended in one session,
// and whatever the server then tied to it (a login) was the other's too.
// The cache already keeps such answers out; coalescing shared them. Nor
// is an answer the server marks private shared between callers that carry
// no credentials (the cache's rule too): nothing tells them apart.
func TestCoalesceNeverSharesPerUserAnswer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		private bool
		hdr     []string
		calls   int64
	}{
		{name: "sets a cookie", calls: 3},
		{name: "sets a cookie, with credentials", hdr: []string{"Authorization", "Zoho-oauthtoken ann"}, calls: 3},
		{name: "private without credentials", private: true, hdr: []string{"Accept", "application/json"}, calls: 3},
		// Held: the same credentials share a private answer.
		{name: "private with credentials", private: true, hdr: []string{"Cookie", "session=7"}, calls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := &sessionRT{private: tc.private}
				tr, _ := newZohoHeld(t, srv, client.WithCoalescing(client.CoalesceRule{Route: recordsRoute}))
				gots := concurrently(3, func(int) got {
					return read(tr, newReq(t, context.Background(), "GET", "https://crm.test/crm/v8/Deals", tc.hdr...))
				})
				assert.Equal(t, tc.calls, srv.calls.Load())
				seen := map[string]bool{}
				for _, g := range gots {
					require.NoError(t, g.err)
					require.Equal(t, 200, g.status)
					seen[g.body] = true
				}
				assert.Len(t, seen, int(tc.calls), "one answer per call")
			})
		})
	}
}
