package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/middleware/client"
)

const recordsRoute = "GET /crm/v8/{module}"

// polls sends n concurrent GETs of url per token and returns the bodies by
// token; every call must answer 200.
func polls(t *testing.T, tr http.RoundTripper, url string, n int, tokens ...string) map[string][]string {
	var mu sync.Mutex
	out := map[string][]string{}
	var wg sync.WaitGroup
	for _, tok := range tokens {
		for range n {
			wg.Go(func() {
				st, body, err := send(context.Background(), tr, "GET", url, tok, "")
				if assert.NoError(t, err) && assert.Equal(t, 200, st) {
					mu.Lock()
					out[tok] = append(out[tok], body)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	return out
}

// Identical concurrent polls share one call and one charge; each caller
// gets the whole answer.
func TestCoalesceSharesOneCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		crm.latency = 50 * time.Millisecond
		tr := newZoho(t, crm, client.WithCoalescing(client.CoalesceRule{Route: recordsRoute}))
		bodies := polls(t, tr, "/crm/v8/Deals?page=1", 10, "ann")
		calls, credits := crm.spent()
		assert.Equal(t, 1, calls)
		assert.Equal(t, int64(1), credits)
		require.Len(t, bodies["ann"], 10)
		for _, b := range bodies["ann"] {
			assert.Equal(t, bodies["ann"][0], b)
			assert.Contains(t, b, `"n":1`)
		}
		s := stat(tr, client.DefaultIntegration)
		assert.Equal(t, client.Saving{Calls: 9, Credits: 9}, s.Saved.Coalesced)
		assert.Equal(t, int64(10), s.Requests)
		assert.Equal(t, int64(1), s.Credits)
		assert.Equal(t, s.Saved, tr.Stats().Saved)
	})
}

// Coalescing never shares an answer between different credentials, nor
// between different URLs.
func TestCoalesceNeverAcrossCredentials(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		crm.latency = 50 * time.Millisecond
		tr := newZoho(t, crm, client.WithCoalescing(client.CoalesceRule{Route: recordsRoute}))
		var wg sync.WaitGroup
		var other map[string][]string
		wg.Go(func() { other = polls(t, tr, "/crm/v8/Deals?page=2", 3, "ann") })
		bodies := polls(t, tr, "/crm/v8/Deals?page=1", 5, "ann", "bob", "eve")
		wg.Wait()
		calls, _ := crm.spent()
		assert.Equal(t, 4, calls, "one call per token and URL")
		for tok, bs := range bodies {
			for _, b := range bs {
				assert.Contains(t, b, `"token":"Zoho-oauthtoken `+tok+`"`)
				assert.Contains(t, b, "page=1")
			}
		}
		for _, b := range other["ann"] {
			assert.Contains(t, b, "page=2")
		}
	})
}

// Other headers that carry credentials keep callers apart too: API-key
// headers, cookies, and the headers WithKeyHeaders names.
func TestCoalesceKeyHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		crm.latency = 50 * time.Millisecond
		tr := newZoho(t, crm, client.WithCoalescing(client.CoalesceRule{Route: recordsRoute}),
			client.WithKeyHeaders("X-Tenant"))
		var wg sync.WaitGroup
		for _, h := range []string{"X-Api-Key", "Cookie", "X-Tenant", "X-Custom-Token", "Accept-Language"} {
			for v := range 2 {
				for range 3 {
					wg.Go(func() {
						r, _ := http.NewRequest("GET", "https://crm.test/crm/v8/Deals", nil)
						r.Header.Set(h, fmt.Sprint(v))
						resp, err := tr.RoundTrip(r)
						if assert.NoError(t, err) {
							_ = resp.Body.Close()
						}
					})
				}
			}
		}
		wg.Wait()
		calls, _ := crm.spent()
		assert.Equal(t, 10, calls, "one call per header and value")
	})
}

// A body larger than MaxBody is not shared: its caller gets it whole, and
// the others send their own calls.
func TestCoalesceLargeBodyNotShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		crm.latency = 50 * time.Millisecond
		tr := newZoho(t, crm, client.WithCoalescing(client.CoalesceRule{Route: recordsRoute, MaxBody: 100}))
		bodies := polls(t, tr, "/crm/v8/Deals?size=500", 4, "ann")
		calls, credits := crm.spent()
		assert.Equal(t, 4, calls)
		assert.Equal(t, int64(4), credits)
		for _, b := range bodies["ann"] {
			assert.Contains(t, b, strings.Repeat("x", 500))
		}
		assert.Zero(t, tr.Stats().Saved.Total())
	})
}

// When the caller that leads a flight leaves, the others are not answered
// with its error: they send their own calls.
func TestCoalesceLeaderLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		crm.latency = 50 * time.Millisecond
		tr := newZoho(t, crm, client.WithCoalescing(client.CoalesceRule{Route: recordsRoute}))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		leader := make(chan error, 1)
		go func() {
			_, _, err := send(ctx, tr, "GET", "/crm/v8/Deals", "ann", "")
			leader <- err
		}()
		synctest.Wait() // the leader's call is in flight
		bodies := polls(t, tr, "/crm/v8/Deals", 3, "ann")
		assert.ErrorIs(t, <-leader, context.DeadlineExceeded)
		assert.Len(t, bodies["ann"], 3)
		calls, _ := crm.spent()
		assert.Equal(t, 1, calls, "the leader's call was abandoned; one more, shared by the three others")
		assert.Equal(t, int64(2), tr.Stats().Saved.Coalesced.Calls)
	})
}

// A follower whose context ends stops waiting at once; the others are
// still answered.
func TestCoalesceFollowerLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		crm.latency = 50 * time.Millisecond
		tr := newZoho(t, crm, client.WithCoalescing(client.CoalesceRule{Route: recordsRoute}))
		done := make(chan struct{})
		go func() {
			defer close(done)
			polls(t, tr, "/crm/v8/Deals", 1, "ann")
		}()
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, _, err := send(ctx, tr, "GET", "/crm/v8/Deals", "ann", "")
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 10*time.Millisecond, time.Since(start))
		<-done
	})
}

// Rules limited to some integrations leave the others' calls alone, and a
// request that is not a GET or HEAD is never coalesced.
func TestCoalesceOnlyItsIntegrations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		crm.latency = 50 * time.Millisecond
		tr := newZoho(t, crm, client.WithIntegrations(client.Integration{Name: "widget"}, client.Integration{Name: "sync"}),
			client.WithCoalescing(client.CoalesceRule{Route: recordsRoute, Integrations: []string{"widget"}}))
		var wg sync.WaitGroup
		for _, it := range []string{"widget", "sync"} {
			for range 3 {
				wg.Go(func() {
					ctx := client.WithIntegration(context.Background(), it)
					_, _, err := send(ctx, tr, "GET", "/crm/v8/Deals", "ann", "")
					assert.NoError(t, err)
				})
			}
		}
		wg.Wait()
		calls, _ := crm.spent()
		assert.Equal(t, 4, calls, "one for the widget, three for the sync")
		assert.Equal(t, int64(2), stat(tr, "widget").Saved.Coalesced.Calls)
		assert.Zero(t, stat(tr, "sync").Saved.Total())
	})
}

// A shared answer that the server refunds (5xx, 429) saved a call, not
// credits.
func TestCoalesceRefundedAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		crm.latency = 50 * time.Millisecond
		tr := newZoho(t, crm, client.WithCoalescing(client.CoalesceRule{Route: recordsRoute}))
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				st, _, err := send(context.Background(), tr, "GET", "/crm/v8/Deals?status=503", "ann", "")
				assert.NoError(t, err)
				assert.Equal(t, 503, st)
			})
		}
		wg.Wait()
		assert.Equal(t, client.Saving{Calls: 3}, tr.Stats().Saved.Coalesced)
	})
}

// A failure to reach the server is shared like an answer: the others do
// not queue behind it one call at a time.
func TestCoalesceSharesTransportError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("dial tcp: i/o timeout")
		var mu sync.Mutex
		calls := 0
		down := rtFunc(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			calls++
			mu.Unlock()
			time.Sleep(30 * time.Second)
			return nil, boom
		})
		tr := newZoho(t, down, client.WithCoalescing(client.CoalesceRule{Route: recordsRoute}))
		start := time.Now()
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				_, _, err := send(context.Background(), tr, "GET", "/crm/v8/Deals", "ann", "")
				assert.ErrorIs(t, err, boom)
			})
		}
		wg.Wait()
		assert.Equal(t, 30*time.Second, time.Since(start))
		assert.Equal(t, 1, calls)
		assert.Equal(t, client.Saving{Calls: 4}, tr.Stats().Saved.Coalesced)
	})
}

// An answer that varies on a header outside the key is not shared.
func TestCoalesceVaryOutsideKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		crm.latency = 50 * time.Millisecond
		crm.vary = "X-Region"
		tr := newZoho(t, crm, client.WithCoalescing(client.CoalesceRule{Route: usersRoute}))
		polls(t, tr, "/crm/v8/users", 3, "ann")
		calls, _ := crm.spent()
		assert.Equal(t, 3, calls)
	})
}

// A read sent after a write to its route's path (or below it) joins no call
// asked for before the write was answered, with coalescing alone as with
// caching: that call may answer the state before the write. Left open by
// the last review: without a cache, flights ignored writes, and a poll sent
// after an insert got the answer of a poll sent before it.
func TestCoalesceNoFlightFromBeforeWrite(t *testing.T) {
	for _, tc := range []struct {
		name, method, url, body string
	}{
		{"insert", "POST", "/crm/v8/Leads?wait=20ms", lead(1, "Last_Name", "A")},
		{"delete below", "DELETE", "/crm/v8/Leads/7?wait=20ms", ""},
		{"unclean path", "PUT", "/crm/v8//Leads?wait=20ms", lead(1, "Last_Name", "A")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				crm := newCRM(t)
				tr := newZoho(t, crm, client.WithCoalescing(client.CoalesceRule{Route: recordsRoute}))
				const url = "/crm/v8/Leads?wait=100ms"
				var wg sync.WaitGroup
				var before, during, after string
				wg.Go(func() { before = mustRead(t, tr, url, "ann") }) // t=0: answered at 100ms
				wg.Go(func() {
					time.Sleep(10 * time.Millisecond) // the write: 10ms to 30ms
					_, _, err := send(context.Background(), tr, tc.method, tc.url, "ann", tc.body)
					assert.NoError(t, err)
				})
				wg.Go(func() {
					time.Sleep(20 * time.Millisecond) // while the write is in flight
					during = mustRead(t, tr, url, "ann")
				})
				wg.Go(func() {
					time.Sleep(40 * time.Millisecond) // once it is answered
					after = mustRead(t, tr, url, "ann")
				})
				wg.Wait()
				assert.Contains(t, before, `"n":1`)
				assert.Contains(t, during, `"n":2`, "its own call, as with caching: the write was under way")
				assert.Contains(t, after, `"n":3`, "its own call: both in flight began before the write was answered")
			})
		})
	}
}
