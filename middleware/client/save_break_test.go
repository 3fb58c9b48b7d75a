package client_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
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

// echoRT answers each call, after 50 ms, with what it was asked: method,
// URL and every header, so that a caller can tell an answer to its own
// request from one to another's.
type echoRT struct{ calls atomic.Int64 }

func (e *echoRT) RoundTrip(r *http.Request) (*http.Response, error) {
	e.calls.Add(1)
	time.Sleep(50 * time.Millisecond)
	return response(r, http.StatusOK, echo(r)), nil
}

func echo(r *http.Request) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s host=%s", r.Method, r.URL, r.Host)
	for _, k := range slices.Sorted(maps.Keys(r.Header)) {
		fmt.Fprintf(&b, " %s=%q", k, r.Header[k])
	}
	return b.String()
}

// keyPairs are pairs of requests that differ in who asks or in what the
// answer is: neither may get the other's answer, from a call in flight or
// from the cache.
func keyPairs() map[string][2][]string {
	const u = "https://crm.test/crm/v8/users"
	h := func(name, a, b string) [2][]string { return [2][]string{{u, name, a}, {u, name, b}} }
	return map[string][2][]string{
		// Identity that is not a credential: the account, organization,
		// project or user a request acts for, with the same credentials.
		"Stripe-Account":      h("Stripe-Account", "acct_A", "acct_B"),
		"OpenAI-Organization": h("OpenAI-Organization", "org-A", "org-B"),
		"OpenAI-Project":      h("OpenAI-Project", "proj_A", "proj_B"),
		"X-CRM-ORG":           h("X-CRM-ORG", "1001", "1002"),
		"X-Tenant-Id":         h("X-Tenant-Id", "a", "b"),
		"X-User-Id":           h("X-User-Id", "a", "b"),
		"X-On-Behalf-Of":      h("X-On-Behalf-Of", "a", "b"),
		// Held before: credentials, what changes the answer, the URL.
		"Authorization":           h("Authorization", "Bearer a", "Bearer b"),
		"Proxy-Authorization":     h("Proxy-Authorization", "Basic a", "Basic b"),
		"Cookie":                  h("Cookie", "s=a", "s=b"),
		"X-Api-Key":               h("X-Api-Key", "a", "b"),
		"X-Shop (WithKeyHeaders)": h("X-Shop", "a", "b"),
		"Accept":                  h("Accept", "application/json", "text/csv"),
		"Accept-Encoding":         h("Accept-Encoding", "gzip", "identity"),
		"Accept-Language":         h("Accept-Language", "en", "fr"),
		"Range":                   h("Range", "bytes=0-9", "bytes=10-19"),
		"If-None-Match":           h("If-None-Match", `"a"`, `"b"`),
		// What the caller prefers the answer to be (RFC 7240), such as
		// return=minimal or Microsoft Graph's outlook.body-content-type.
		"Prefer": h("Prefer", "return=minimal", "return=representation"),
		// The version of the API the answer is in.
		"Stripe-Version":         h("Stripe-Version", "2024-06-20", "2025-03-31"),
		"X-GitHub-Api-Version":   h("X-GitHub-Api-Version", "2022-11-28", "2026-03-10"),
		"one credential or none": {{u, "Authorization", "Bearer a"}, {u}},
		"two values or one":      {{u, "Authorization", "Bearer a", "Authorization", "Bearer b"}, {u, "Authorization", "Bearer a"}},
		"query":                  {{u + "?page=1"}, {u + "?page=2"}},
		"query or none":          {{u + "?"}, {u}},
		"host":                   {{u}, {"https://crm.other/crm/v8/users"}},
		"scheme":                 {{u}, {"http://crm.test/crm/v8/users"}},
		"port":                   {{u}, {"https://crm.test:8443/crm/v8/users"}},
		"user info":              {{"https://a:x@crm.test/crm/v8/users"}, {"https://b:x@crm.test/crm/v8/users"}},
	}
}

// keyReq makes the request of a key pair's side: URL, then header pairs.
func keyReq(t testing.TB, side []string) *http.Request {
	return newReq(t, context.Background(), "GET", side[0], side[1:]...)
}

// Requests that differ in who asks, or in what the answer is, never get
// each other's answer: not concurrently (coalescing), not one after the
// other (the cache). Headers that name the account, organization, project
// or user a call acts for, with the same credentials (Stripe-Account,
// OpenAI-Organization, Zoho's X-CRM-ORG, X-Tenant-Id...), were outside the
// key: one tenant's answer went to another.
func TestKeySplitsWhoAsks(t *testing.T) {
	for name, pair := range keyPairs() {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := &echoRT{}
				tr, _ := newZohoHeld(t, srv, client.WithKeyHeaders("X-Shop"),
					client.WithCoalescing(client.CoalesceRule{Route: usersRoute}),
					client.WithCaching(client.CacheRule{Route: usersRoute, TTL: time.Hour}))
				check := func(g got, side []string) {
					require.NoError(t, g.err)
					assert.Equal(t, echo(keyReq(t, side)), g.body, "the answer to another request")
				}
				gots := concurrently(2, func(i int) got { return read(tr, keyReq(t, pair[i])) })
				check(gots[0], pair[0])
				check(gots[1], pair[1])
				assert.Equal(t, int64(2), srv.calls.Load(), "coalesced")
				for i := range 2 { // from the cache: each its own
					check(read(tr, keyReq(t, pair[i])), pair[i])
				}
				assert.Equal(t, int64(2), srv.calls.Load(), "cached")
			})
		})
	}
}

// A HEAD answer says how long the body of a GET would be: coalesced, each
// caller (the one that made the call too) got ContentLength 0, the length
// of the empty body read, instead of the server's.
func TestCoalesceHeadKeepsContentLength(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		srv := rtFunc(func(r *http.Request) (*http.Response, error) {
			calls.Add(1)
			time.Sleep(50 * time.Millisecond)
			resp := response(r, http.StatusOK, "", "Content-Length", "1234")
			resp.Body, resp.ContentLength = http.NoBody, 1234 // as net/http answers a HEAD
			return resp, nil
		})
		tr, _ := newZohoHeld(t, srv, client.WithCoalescing(client.CoalesceRule{Route: recordsRoute}))
		gots := concurrently(3, func(int) got {
			return read(tr, newReq(t, context.Background(), "HEAD", "https://crm.test/crm/v8/Deals"))
		})
		assert.Equal(t, int64(1), calls.Load())
		for _, g := range gots {
			require.NoError(t, g.err)
			assert.Equal(t, int64(1234), g.length)
			assert.Empty(t, g.body)
		}
	})
}

// The cache keeps no answer larger than its rule's MaxBody: with a
// coalescing rule on the route that shares larger bodies, the cache kept
// whatever the flight read (up to the larger of the two).
func TestCacheMaxBodyWithCoalescing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		tr, _ := newZohoHeld(t, crm, client.WithCoalescing(client.CoalesceRule{Route: usersRoute}),
			client.WithCaching(client.CacheRule{Route: usersRoute, TTL: time.Hour, MaxBody: 100}))
		const url = "/crm/v8/users?size=500"
		assert.Contains(t, mustRead(t, tr, url, "ann"), `"n":1`)
		assert.Contains(t, mustRead(t, tr, url, "ann"), `"n":2`, "a 500-byte body is over the cache's 100")
		assert.Zero(t, tr.Stats().CacheEntries)
	})
}

// A read sent after a write was answered sees the write: it does not join a
// call in flight since before the write (which may answer the old state).
// The write dropped the cache's entries, but a read of a cached route that
// came after it joined the flight of an earlier miss.
func TestCacheReadAfterWriteJoinsNoOlderFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		tr, _ := newZohoHeld(t, crm, metaRules())
		const url = "/crm/v8/settings/fields?module=Leads&wait=100ms"
		var wg sync.WaitGroup
		wg.Go(func() { assert.Contains(t, mustRead(t, tr, url, "ann"), `"n":1`) }) // sent at 0, answered at 100 ms
		time.Sleep(10 * time.Millisecond)
		st, _, err := send(context.Background(), tr, "PATCH", "/crm/v8/settings/fields/42?module=Leads&wait=20ms", "ann", `{"fields":[{"id":"42"}]}`)
		require.NoError(t, err)
		require.Equal(t, 200, st) // answered at 30 ms
		assert.Contains(t, mustRead(t, tr, url, "ann"), `"n":2`, "answered by the call in flight since before the write")
		wg.Wait()
	})
}

// slowBody yields "{}" after 100 ms, or fails when its request's context
// ends first, as net/http's bodies do.
type slowBody struct {
	ctx  context.Context
	done bool
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	select {
	case <-time.After(100 * time.Millisecond):
		b.done = true
		return copy(p, "{}"), nil
	case <-b.ctx.Done():
		return 0, b.ctx.Err()
	}
}

func (b *slowBody) Close() error { return nil }

// When the caller whose call a flight shares leaves while its answer's body
// is read, the others try again together (CoalesceRule): they each sent a
// call of their own, as for a body too large to share.
func TestCoalesceLeaderLeavesDuringBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		srv := rtFunc(func(r *http.Request) (*http.Response, error) {
			calls.Add(1)
			resp := response(r, http.StatusOK, "")
			resp.Body = &slowBody{ctx: r.Context()}
			return resp, nil
		})
		tr, held := newZohoHeld(t, srv, client.WithCoalescing(client.CoalesceRule{Route: recordsRoute}))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		leader := make(chan got, 1)
		go func() { leader <- read(tr, newReq(t, ctx, "GET", "https://crm.test/crm/v8/Deals")) }()
		synctest.Wait() // the leader reads the body
		gots := concurrently(3, func(int) got {
			return read(tr, newReq(t, context.Background(), "GET", "https://crm.test/crm/v8/Deals"))
		})
		for _, g := range gots {
			require.NoError(t, g.err)
			assert.Equal(t, "{}", g.body)
		}
		assert.ErrorIs(t, (<-leader).err, context.DeadlineExceeded)
		assert.Equal(t, int64(2), calls.Load(), "the leader's, and one the others share")
		assert.Zero(t, held())
	})
}

// Held: a panic of the base transport reaches each caller of a flight
// once, on its own goroutine (each follower tries a new flight and leads
// it), and every slot is given back.
func TestCoalescePanicReachesEachCallerOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		srv := rtFunc(func(r *http.Request) (*http.Response, error) {
			calls.Add(1)
			time.Sleep(50 * time.Millisecond)
			panic("base transport")
		})
		tr, held := newZohoHeld(t, srv, client.WithCoalescing(client.CoalesceRule{Route: recordsRoute}))
		panicked := concurrently(4, func(int) int {
			n := 0
			func() {
				defer func() {
					if recover() != nil {
						n++
					}
				}()
				read(tr, newReq(t, context.Background(), "GET", "https://crm.test/crm/v8/Deals"))
			}()
			return n
		})
		assert.Equal(t, []int{1, 1, 1, 1}, panicked)
		assert.Equal(t, int64(4), calls.Load())
		assert.Zero(t, held())
	})
}

// closeCounter is a base body that counts its Closes.
type closeCounter struct {
	io.Reader
	closes *atomic.Int64
}

func (b closeCounter) Close() error { b.closes.Add(1); return nil }

// Held: the base body of a shared call is closed once, however often its
// callers close theirs, and its slots are given back once; a follower that
// leaves does not fail the others.
func TestCoalesceClosesBaseBodyOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls, closes atomic.Int64
		srv := rtFunc(func(r *http.Request) (*http.Response, error) {
			calls.Add(1)
			time.Sleep(50 * time.Millisecond)
			resp := response(r, http.StatusOK, "")
			resp.Body = closeCounter{strings.NewReader("{}"), &closes}
			return resp, nil
		})
		tr, held := newZohoHeld(t, srv, client.WithCoalescing(client.CoalesceRule{Route: recordsRoute}))
		var wg sync.WaitGroup
		var gots [5]got
		call := func(i int) got {
			ctx := context.Background()
			if i == 4 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 10*time.Millisecond)
				defer cancel()
			}
			resp, err := tr.RoundTrip(newReq(t, ctx, "GET", "https://crm.test/crm/v8/Deals"))
			if err != nil {
				return got{err: err}
			}
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			_ = resp.Body.Close()
			return got{body: string(b)}
		}
		wg.Go(func() { gots[0] = call(0) })
		synctest.Wait() // the first leads
		for i := 1; i < 5; i++ {
			wg.Go(func() { gots[i] = call(i) })
		}
		wg.Wait()
		ok := 0
		for _, g := range gots {
			if g.err == nil {
				assert.Equal(t, "{}", g.body)
				ok++
			} else {
				assert.ErrorIs(t, g.err, context.DeadlineExceeded)
			}
		}
		assert.Equal(t, 4, ok, "only the caller that left failed")
		assert.Equal(t, int64(1), calls.Load())
		assert.Equal(t, int64(1), closes.Load())
		assert.Zero(t, held())
	})
}

// A request's Cache-Control max-age bounds the age of the answer it takes
// (RFC 9111, 5.2.1.1): max-age=0 is the usual way to ask for a fresh one.
// The cache served its entry whatever the request's max-age.
func TestCacheRequestMaxAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		tr, _ := newZohoHeld(t, crm, metaRules())
		const url = "https://crm.test/crm/v8/users"
		readAged := func(cc string) string {
			hdr := []string{"Authorization", "Zoho-oauthtoken ann"}
			if cc != "" {
				hdr = append(hdr, "Cache-Control", cc)
			}
			g := read(tr, newReq(t, context.Background(), "GET", url, hdr...))
			require.NoError(t, g.err)
			return g.body
		}
		assert.Contains(t, readAged(""), `"n":1`)
		time.Sleep(20 * time.Second)
		assert.Contains(t, readAged("max-age=30"), `"n":1`, "20 s old: young enough")
		assert.Contains(t, readAged("max-age=10"), `"n":2`, "20 s old: too old")
		assert.Contains(t, readAged(""), `"n":2`, "the fresh answer refreshed the entry")
		assert.Contains(t, readAged("max-age=0"), `"n":3`)
		assert.Contains(t, readAged("max-age=0, private"), `"n":4`)
	})
}

// Held: a HEAD is never answered from a GET's entry (nor a GET from a
// HEAD), and a DELETE under a cached route drops its entries.
func TestCacheHeadAndDelete(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &echoRT{}
		tr, _ := newZohoHeld(t, srv, metaRules())
		const url = "https://crm.test/crm/v8/users"
		for _, m := range []string{"GET", "HEAD", "GET", "HEAD"} {
			g := read(tr, newReq(t, context.Background(), m, url))
			require.NoError(t, g.err)
			assert.Equal(t, echo(newReq(t, context.Background(), m, url)), g.body)
		}
		assert.Equal(t, int64(3), srv.calls.Load(), "GET, HEAD, HEAD: the second GET is cached")
		g := read(tr, newReq(t, context.Background(), "DELETE", url+"/7"))
		require.NoError(t, g.err)
		read(tr, newReq(t, context.Background(), "GET", url))
		assert.Equal(t, int64(5), srv.calls.Load(), "the DELETE dropped the GET's entry")
	})
}

// batchRT is a record-write server that remembers, for each record's Seq,
// who sent the call it came in (Authorization and X-Tenant-Id) and answers
// each record with its Seq, after 20 ms. status, if set, answers every call
// with it and a body of its own instead.
type batchRT struct {
	status int
	mu     sync.Mutex
	by     map[string]string // Seq: sender
	calls  int
}

func (b *batchRT) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	_ = r.Body.Close()
	time.Sleep(20 * time.Millisecond)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	if b.status != 0 {
		return jsonResponse(r, b.status, map[string]any{"code": "TOO_MANY_REQUESTS", "status": "error"}), nil
	}
	var in struct{ Data []map[string]json.RawMessage }
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	out := make([]any, len(in.Data))
	for i, rec := range in.Data {
		seq := string(rec["Seq"])
		if b.by == nil {
			b.by = map[string]string{}
		}
		b.by[seq] = r.Header.Get("Authorization") + "|" + r.Header.Get("X-Tenant-Id")
		out[i] = map[string]any{"code": "SUCCESS", "status": "success", "details": map[string]any{"Seq": json.RawMessage(seq)}}
	}
	return jsonResponse(r, http.StatusCreated, map[string]any{"data": out}), nil
}

// write sends a one-record insert of Seq seq as token for tenant (none if
// "") with ctx.
func write(t testing.TB, tr http.RoundTripper, ctx context.Context, seq int, token, tenant string) answer {
	r, err := http.NewRequestWithContext(ctx, "POST", "https://crm.test/crm/v8/Leads",
		strings.NewReader(lead(seq, "Last_Name", "L")))
	require.NoError(t, err)
	r.Header.Set("Authorization", "Zoho-oauthtoken "+token)
	if tenant != "" {
		r.Header.Set("X-Tenant-Id", tenant)
	}
	resp, err := tr.RoundTrip(r)
	if err != nil {
		return answer{err: err}
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return answer{resp.StatusCode, string(b), err}
}

// Held: writes of different credentials, tenants or integrations in one
// window never share a batch; each record is sent with its own caller's
// credentials, and each caller gets its own record's result.
func TestBatchNeverMixesWhoWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &batchRT{}
		tr, _ := newZohoHeld(t, srv, client.WithIntegrations(client.Integration{Name: "forms"}, client.Integration{Name: "sync"}),
			client.WithBatching(client.BatchRule{Route: insertRoute}))
		type who struct{ token, tenant, it string }
		var whos []who
		for _, tok := range []string{"ann", "bob"} {
			for _, ten := range []string{"", "t1", "t2"} {
				for _, it := range []string{"forms", "sync"} {
					whos = append(whos, who{tok, ten, it})
				}
			}
		}
		const each = 3
		answers := concurrently(len(whos)*each, func(i int) answer {
			w := whos[i/each]
			return write(t, tr, client.WithIntegration(context.Background(), w.it), i, w.token, w.tenant)
		})
		for i, a := range answers {
			require.NoError(t, a.err)
			require.Equal(t, 201, a.status, a.body)
			assert.EqualValues(t, i, a.result(t)["details"].(map[string]any)["Seq"], "another caller's result")
			w := whos[i/each]
			srv.mu.Lock()
			assert.Equal(t, "Zoho-oauthtoken "+w.token+"|"+w.tenant, srv.by[strconv.Itoa(i)], "sent with another caller's credentials")
			srv.mu.Unlock()
		}
		assert.Equal(t, len(whos), srv.calls, "one batch per credentials, tenant and integration")
	})
}

// Held: a batch refused with a 429 gives each caller its own copy of the
// refusal (a POST is not retried without an idempotency key), once, and
// every slot and credit back.
func TestBatchRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &batchRT{status: http.StatusTooManyRequests}
		tr, held := newZohoHeld(t, srv, client.WithBatching(client.BatchRule{Route: insertRoute}))
		answers := concurrently(5, func(i int) answer { return write(t, tr, context.Background(), i, "ann", "") })
		for _, a := range answers {
			require.NoError(t, a.err)
			assert.Equal(t, 429, a.status)
			assert.JSONEq(t, `{"code":"TOO_MANY_REQUESTS","status":"error"}`, a.body)
		}
		assert.Equal(t, 1, srv.calls)
		assert.Zero(t, held())
		assert.Zero(t, stat(tr, client.DefaultIntegration).Credits, "refunded")
		assert.Zero(t, tr.Stats().Saved.Batched)
	})
}

// Held: a caller whose context ends while its batch is in flight gets its
// context's error at once; its record was sent, the others get their
// results, and every slot comes back.
func TestBatchCallerLeavesInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &batchRT{}
		tr, held := newZohoHeld(t, srv, client.WithBatching(client.BatchRule{Route: insertRoute}))
		ctx, cancel := context.WithCancel(context.Background())
		answers := concurrently(4, func(i int) answer {
			if i == 0 {
				go func() {
					time.Sleep(client.DefaultBatchWindow + 10*time.Millisecond) // sent, not answered
					cancel()
				}()
				return write(t, tr, ctx, i, "ann", "")
			}
			return write(t, tr, context.Background(), i, "ann", "")
		})
		assert.ErrorIs(t, answers[0].err, context.Canceled)
		for i, a := range answers[1:] {
			require.NoError(t, a.err)
			assert.EqualValues(t, i+1, a.result(t)["details"].(map[string]any)["Seq"])
		}
		assert.Equal(t, 1, srv.calls)
		assert.Len(t, srv.by, 4, "the record of the caller that left was sent")
		assert.Zero(t, held())
	})
}

// A batched write whose caller left while it was in flight still drops the
// entries it changes when it is answered: the caller's invalidation came
// when it left, before the write was done, so a read in between kept the
// state before the write in the cache for its TTL.
func TestCacheInvalidatedByBatchAfterCallerLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		tr, held := newZohoHeld(t, crm, client.WithCaching(client.CacheRule{Route: recordsRoute, TTL: time.Minute}),
			client.WithBatching(client.BatchRule{Route: insertRoute}))
		assert.Contains(t, mustRead(t, tr, "/crm/v8/Leads", "ann"), `"n":1`)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(client.DefaultBatchWindow+5*time.Millisecond, cancel)
		// Sent at the window's end, answered 100 ms later (Slow).
		_, _, err := send(ctx, tr, "POST", "/crm/v8/Leads", "ann", lead(1, "Last_Name", "Slow"))
		require.ErrorIs(t, err, context.Canceled)
		assert.Contains(t, mustRead(t, tr, "/crm/v8/Leads", "ann"), `"n":2`, "read while the write is in flight")
		time.Sleep(200 * time.Millisecond) // the write is answered
		synctest.Wait()
		assert.Len(t, crm.batchSizes(), 1)
		assert.Contains(t, mustRead(t, tr, "/crm/v8/Leads", "ann"), `"n":3`, "the entry from before the write was answered")
		assert.Zero(t, held())
	})
}

// Two writes that name one record by one field's value are never in one
// batch, however their JSON spells the value: encoding/json writes & < >
// as \u0026 \u003c \u003e, other encoders do not, and the record's key
// compared the JSON text, so the two went in one batch.
func TestBatchSameRecordSpelledTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		tr, _ := newZohoHeld(t, crm, client.WithBatching(zoho.BatchRules("v8", 0)...))
		bodies := []string{
			`{"data":[{"Seq":1,"Last_Name":"a","Email":"tom&jerry@x.test"}]}`,
			`{"data":[{"Seq":2,"Last_Name":"b","Email":"TOM\u0026JERRY@x.test"}]}`,
			`{"data":[{"Seq":3,"Last_Name":"c","Email":"t\u006fm&jerry@x.test"}]}`,
		}
		var wg sync.WaitGroup
		for i, b := range bodies {
			wg.Go(func() {
				time.Sleep(time.Duration(i) * time.Microsecond) // arrive in order
				st, body, err := send(context.Background(), tr, "POST", "/crm/v8/Leads/upsert", "ann", b)
				assert.NoError(t, err)
				assert.Equal(t, 200, st, body)
			})
		}
		wg.Wait()
		assert.Equal(t, []int{1, 1, 1}, crm.batchSizes(), "one record, three batches in order")
	})
}

// failingBody yields n bytes of x, then fails.
type failingBody struct{ n int }

var errHalfway = errors.New("connection reset halfway")

func (b *failingBody) Read(p []byte) (int, error) {
	if b.n == 0 {
		return 0, errHalfway
	}
	k := min(len(p), b.n)
	copy(p, bytes.Repeat([]byte("x"), k))
	b.n -= k
	return k, nil
}

func (b *failingBody) Close() error { return nil }

// Held: a body that fails halfway is never cached, and its caller reads
// what came then the error; a body over MaxBody reaches its caller whole
// (64 KiB, streamed on past the 1 KiB read) and is not cached; no slot
// stays held.
func TestCacheKeepsNoBrokenOrHugeBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		srv := rtFunc(func(r *http.Request) (*http.Response, error) {
			calls.Add(1)
			resp := response(r, http.StatusOK, "")
			if r.URL.Query().Get("size") == "huge" {
				resp.Body = io.NopCloser(io.LimitReader(neverEnding('y'), 64<<10))
			} else {
				resp.Body = &failingBody{n: 10}
			}
			return resp, nil
		})
		tr, held := newZohoHeld(t, srv, client.WithCaching(client.CacheRule{Route: usersRoute, TTL: time.Minute, MaxBody: 1 << 10}))
		for i := range 2 {
			g := read(tr, newReq(t, context.Background(), "GET", "https://crm.test/crm/v8/users"))
			assert.ErrorIs(t, g.err, errHalfway)
			assert.Equal(t, strings.Repeat("x", 10), g.body)
			assert.Equal(t, int64(i+1), calls.Load())
		}
		for i := range 2 {
			g := read(tr, newReq(t, context.Background(), "GET", "https://crm.test/crm/v8/users?size=huge"))
			require.NoError(t, g.err)
			assert.Equal(t, 64<<10, len(g.body))
			assert.Equal(t, int64(3+i), calls.Load())
		}
		assert.Zero(t, tr.Stats().CacheEntries)
		assert.Zero(t, held())
	})
}

type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// A header set under two spellings of its name (a map key net/http does
// not canonicalise) is sent as two lines in the spellings' order, and a
// server takes the first: {X-Api-Key: 1, x-api-key: 2} calls as key 1,
// {X-Api-Key: 2, x-api-key: 1} as key 2. The key sorted the two by their
// lower-case name only, in map order, so half the time both requests had
// one key and one got the other's answer.
func TestKeyHeaderSpelledTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &echoRT{}
		tr, _ := newZohoHeld(t, srv, client.WithCoalescing(client.CoalesceRule{Route: usersRoute}),
			client.WithCaching(client.CacheRule{Route: usersRoute, TTL: time.Hour}))
		mk := func(q, first, second string) *http.Request {
			r := newReq(t, context.Background(), "GET", "https://crm.test/crm/v8/users?"+q)
			r.Header["X-Api-Key"] = []string{first}
			r.Header["x-api-key"] = []string{second}
			return r
		}
		for i := range 20 { // each time a URL of its own: nothing cached yet
			q := strconv.Itoa(i)
			gots := concurrently(2, func(j int) got {
				if j == 0 {
					return read(tr, mk(q, "1", "2"))
				}
				return read(tr, mk(q, "2", "1"))
			})
			assert.Equal(t, echo(mk(q, "1", "2")), gots[0].body)
			assert.Equal(t, echo(mk(q, "2", "1")), gots[1].body)
		}
	})
}

// A GET that carries a method override (X-HTTP-Method-Override and kin,
// which Google's and many other APIs honour) is the method it names: a
// DELETE so sent was answered from the cache, never reaching the server,
// or from a plain GET's call in flight, and dropped no entry.
func TestMethodOverrideIsNoRead(t *testing.T) {
	for _, h := range []string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"} {
		t.Run(h, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := &echoRT{}
				tr, _ := newZohoHeld(t, srv, client.WithCoalescing(client.CoalesceRule{Route: usersRoute}),
					client.WithCaching(client.CacheRule{Route: usersRoute, TTL: time.Hour}))
				const url = "https://crm.test/crm/v8/users"
				plain := func() *http.Request { return newReq(t, context.Background(), "GET", url) }
				del := func() *http.Request { return newReq(t, context.Background(), "GET", url, h, "DELETE") }
				gots := concurrently(2, func(i int) got {
					if i == 0 {
						return read(tr, plain())
					}
					time.Sleep(time.Millisecond) // joins the plain GET's flight, if it may
					return read(tr, del())
				})
				assert.Equal(t, echo(plain()), gots[0].body)
				assert.Equal(t, echo(del()), gots[1].body, "the DELETE got the GET's answer")
				assert.Equal(t, int64(2), srv.calls.Load())
				assert.Equal(t, echo(del()), read(tr, del()).body)
				assert.Equal(t, int64(3), srv.calls.Load(), "the DELETE was answered from the cache")
				read(tr, plain())
				assert.Equal(t, int64(4), srv.calls.Load(), "the DELETE dropped no entry")
			})
		})
	}
}

// An answer that was already Age seconds old (from a CDN or proxy cache on
// the way) is fresh for max-age minus that (RFC 9111, 4.2.3): the cache
// kept it for the whole max-age from when it came.
func TestCacheHonoursAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		srv := rtFunc(func(r *http.Request) (*http.Response, error) {
			calls.Add(1)
			return response(r, http.StatusOK, "{}", "Cache-Control", "max-age=60", "Age", "50"), nil
		})
		tr, _ := newZohoHeld(t, srv, metaRules())
		const url = "https://crm.test/crm/v8/users"
		read(tr, newReq(t, context.Background(), "GET", url))
		time.Sleep(5 * time.Second)
		read(tr, newReq(t, context.Background(), "GET", url))
		assert.Equal(t, int64(1), calls.Load(), "55 s old: fresh")
		time.Sleep(6 * time.Second)
		read(tr, newReq(t, context.Background(), "GET", url))
		assert.Equal(t, int64(2), calls.Load(), "61 s old: stale")
	})
}

// Held: a rule whose TTL is under a second keeps no answer of max-age=0.
func TestCacheSubSecondTTLMaxAgeZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		srv := rtFunc(func(r *http.Request) (*http.Response, error) {
			calls.Add(1)
			return response(r, http.StatusOK, "{}", "Cache-Control", "max-age=0"), nil
		})
		tr, _ := newZohoHeld(t, srv, client.WithCaching(client.CacheRule{Route: usersRoute, TTL: 500 * time.Millisecond}))
		for range 2 {
			read(tr, newReq(t, context.Background(), "GET", "https://crm.test/crm/v8/users"))
		}
		assert.Equal(t, int64(2), calls.Load())
	})
}

// A credential header with no value (code that sets the user's token, ""
// for a user who has none) carries no credentials: a private answer to it
// was cached, and served to every other such caller.
func TestCachePrivateToEmptyCredentials(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &sessionRT{private: true}
		tr, _ := newZohoHeld(t, srv, metaRules())
		for _, v := range []string{"", " "} {
			for range 2 {
				read(tr, newReq(t, context.Background(), "GET", "https://crm.test/crm/v8/users", "Authorization", v, "Cookie", ""))
			}
		}
		assert.Equal(t, int64(4), srv.calls.Load())
	})
}

// The cache's bytes count an answer's trailers, which it keeps and serves:
// an answer whose trailers alone were over the bound was kept.
func TestCacheBytesCountTrailers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := rtFunc(func(r *http.Request) (*http.Response, error) {
			resp := response(r, http.StatusOK, "{}")
			resp.Trailer = http.Header{"X-Digest": {strings.Repeat("d", 8<<10)}}
			return resp, nil
		})
		tr, _ := newZohoHeld(t, srv, metaRules(), client.WithCacheSize(100, 4<<10))
		read(tr, newReq(t, context.Background(), "GET", "https://crm.test/crm/v8/users"))
		s := tr.Stats()
		assert.Zero(t, s.CacheEntries, "8 KiB of trailers in a cache of 4 KiB")
		assert.LessOrEqual(t, s.CacheBytes, int64(4<<10))
	})
}

// An answer to a request without credentials is kept for every caller of
// the process, as a shared cache keeps it, so its s-maxage, which shared
// caches take over max-age (RFC 9111, 5.2.2.10), bounds it; with
// credentials the entry is the caller's own, and s-maxage is not for it.
func TestCacheSharedMaxAge(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hdr   []string
		calls int64
	}{
		{name: "no credentials", calls: 2},
		{name: "credentials", hdr: []string{"Authorization", "Zoho-oauthtoken ann"}, calls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var calls atomic.Int64
				srv := rtFunc(func(r *http.Request) (*http.Response, error) {
					calls.Add(1)
					return response(r, http.StatusOK, "{}", "Cache-Control", "max-age=600, s-maxage=0"), nil
				})
				tr, _ := newZohoHeld(t, srv, metaRules())
				for range 2 {
					read(tr, newReq(t, context.Background(), "GET", "https://crm.test/crm/v8/users", tc.hdr...))
				}
				assert.Equal(t, tc.calls, calls.Load())
			})
		})
	}
}

// A request's max-age too large for a Duration takes any live entry: it
// overflowed, negative, and sent every such request to the server.
func TestCacheRequestHugeMaxAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		tr, _ := newZohoHeld(t, crm, metaRules())
		for range 2 {
			g := read(tr, newReq(t, context.Background(), "GET", "https://crm.test/crm/v8/users", "Cache-Control", "max-age=10000000000"))
			require.NoError(t, g.err)
			assert.Contains(t, g.body, `"n":1`)
		}
	})
}

// An answer's max-age too large for a Duration keeps it for the TTL: the
// product overflowed before 72408a7, negative for this one, and the answer
// was not kept.
func TestCacheHugeMaxAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		srv := rtFunc(func(r *http.Request) (*http.Response, error) {
			calls.Add(1)
			return response(r, http.StatusOK, "{}", "Cache-Control", "max-age=10000000000"), nil
		})
		tr, _ := newZohoHeld(t, srv, metaRules())
		for range 2 {
			read(tr, newReq(t, context.Background(), "GET", "https://crm.test/crm/v8/users"))
		}
		assert.Equal(t, int64(1), calls.Load())
	})
}

// gzipRT is batchRT answering in gzip when the call accepts it, as
// servers do, with Content-Encoding: gzip.
type gzipRT struct{ batchRT }

func (g *gzipRT) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := g.batchRT.RoundTrip(r)
	if err != nil || !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		return resp, err
	}
	plain, _ := io.ReadAll(resp.Body)
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write(plain)
	_ = zw.Close()
	resp.Body, resp.ContentLength = io.NopCloser(&b), int64(b.Len())
	resp.Header.Set("Content-Encoding", "gzip")
	resp.Header.Del("Content-Length")
	return resp, nil
}

// Writes that ask for a compressed answer (Accept-Encoding: gzip, set by
// the caller, so net/http leaves the answer compressed) are batched like
// others, and each caller gets its own record's result: the batch's
// answer came compressed, could not be split, and every caller got
// ErrBatchAnswer ("whether their records were written is unknown") for
// records that were all written, which a caller may well send again.
func TestBatchCompressedAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &gzipRT{}
		tr, _ := newZohoHeld(t, srv, client.WithBatching(client.BatchRule{Route: insertRoute}))
		answers := concurrently(3, func(i int) answer {
			r, err := http.NewRequest("POST", "https://crm.test/crm/v8/Leads", strings.NewReader(lead(i, "Last_Name", "L")))
			require.NoError(t, err)
			r.Header.Set("Authorization", "Zoho-oauthtoken ann")
			r.Header.Set("Accept-Encoding", "gzip")
			resp, err := tr.RoundTrip(r)
			if err != nil {
				return answer{err: err}
			}
			defer resp.Body.Close()
			var body io.Reader = resp.Body
			if resp.Header.Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(resp.Body)
				require.NoError(t, err)
				body = zr
			}
			b, err := io.ReadAll(body)
			return answer{resp.StatusCode, string(b), err}
		})
		for i, a := range answers {
			require.NoError(t, a.err)
			require.Equal(t, 201, a.status, a.body)
			assert.EqualValues(t, i, a.result(t)["details"].(map[string]any)["Seq"])
		}
		assert.Equal(t, 1, srv.calls)
	})
}

// md5RT refuses (400) a write whose body does not match its Content-MD5 or
// whose X-Signature is not the body's SHA-256, as servers that check body
// digests and signatures do; else it answers as batchRT.
type md5RT struct{ batchRT }

func (m *md5RT) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	_ = r.Body.Close()
	sum := md5.Sum(body)
	sig := sha256.Sum256(body)
	if v := r.Header.Get("Content-MD5"); v != "" && v != base64.StdEncoding.EncodeToString(sum[:]) ||
		r.Header.Get("X-Signature") != "" && r.Header.Get("X-Signature") != hex.EncodeToString(sig[:]) {
		return jsonResponse(r, http.StatusBadRequest, map[string]any{"code": "BAD_DIGEST", "status": "error"}), nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return m.batchRT.RoundTrip(r)
}

// A write whose headers bind its body (a digest, a signature) is sent as it
// is: batched, even alone, its body was written anew (compacted, members
// sorted) and no longer matched, and the server refused it.
func TestBatchKeepsBodyBoundWrite(t *testing.T) {
	const body = `{"data": [ {"Seq": 1, "Last_Name": "L"} ], "trigger": ["workflow"]}`
	md := md5.Sum([]byte(body))
	sig := sha256.Sum256([]byte(body))
	for name, hdr := range map[string][]string{
		"Content-MD5": {"Content-MD5", base64.StdEncoding.EncodeToString(md[:])},
		"X-Signature": {"X-Signature", hex.EncodeToString(sig[:])},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := &md5RT{}
				tr, _ := newZohoHeld(t, srv, client.WithBatching(client.BatchRule{Route: insertRoute}))
				r, err := http.NewRequest("POST", "https://crm.test/crm/v8/Leads", strings.NewReader(body))
				require.NoError(t, err)
				r.Header.Set(hdr[0], hdr[1])
				resp, err := tr.RoundTrip(r)
				require.NoError(t, err)
				b, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				assert.Equal(t, 201, resp.StatusCode, string(b))
			})
		})
	}
}

// A request with Pragma: no-cache and no Cache-Control is sent, as if it
// said Cache-Control: no-cache (RFC 9111, 5.4: caches MUST): it was
// answered from the cache.
func TestCacheRequestPragmaNoCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		tr, _ := newZohoHeld(t, crm, metaRules())
		const url = "https://crm.test/crm/v8/users"
		read(tr, newReq(t, context.Background(), "GET", url))
		g := read(tr, newReq(t, context.Background(), "GET", url, "Pragma", "no-cache"))
		assert.Contains(t, g.body, `"n":2`)
		g = read(tr, newReq(t, context.Background(), "GET", url, "Pragma", "no-cache", "Cache-Control", "max-age=600"))
		assert.Contains(t, g.body, `"n":2`, "Cache-Control wins over Pragma")
	})
}
