package client_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/creditgate/creditgate/middleware/client"
)

// readAroundWrite reads url at t=0 (answered at 100ms) and again at 20ms,
// while write, sent at 10ms, is in flight, and returns both answers: the
// second must be a call of its own (n 2), not the first's.
func readAroundWrite(t *testing.T, write func(tr *client.Transport)) (before, during string) {
	crm := newCRM(t)
	tr := newZoho(t, crm, client.WithCoalescing(client.CoalesceRule{Route: recordsRoute}))
	const url = "/crm/v8/Leads?wait=100ms"
	var wg sync.WaitGroup
	wg.Go(func() { before = mustRead(t, tr, url, "ann") })
	wg.Go(func() {
		time.Sleep(10 * time.Millisecond)
		write(tr)
	})
	wg.Go(func() {
		time.Sleep(20 * time.Millisecond)
		during = mustRead(t, tr, url, "ann")
	})
	wg.Wait()
	return before, during
}

// Spellings of a write that routers may read as one to the coalesced
// route's path count as writes (held: the cost table flags them Unclean).
func TestWriteByPathAliasCounts(t *testing.T) {
	for _, tc := range []struct{ name, method, url string }{
		{"path case", "POST", "/CRM/v8/Leads?wait=20ms"},
		{"module case", "POST", "/crm/v8/leads?wait=20ms"},
		{"trailing slash", "POST", "/crm/v8/Leads/?wait=20ms"},
		{"escaped", "POST", "/crm/v8/%4Ceads?wait=20ms"},
		{"below", "POST", "/crm/v8/Leads/upsert?wait=20ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				before, during := readAroundWrite(t, func(tr *client.Transport) {
					_, _, _ = send(context.Background(), tr, tc.method, tc.url, "ann", lead(1, "Last_Name", "A"))
				})
				assert.Contains(t, before, `"n":1`)
				assert.Contains(t, during, `"n":2`, "its own call: a write was under way")
			})
		})
	}
}

// A GET whose method override headers name an unsafe method in any of
// them, or in any line of one, is a write to a server that reads that one:
// match read only the first header's first line, so a GET that said
// X-HTTP-Method-Override: GET and X-HTTP-Method: DELETE (or a second
// X-HTTP-Method-Override line, DELETE, for a server that reads the last)
// counted as no write, and a read sent while it was in flight joined the
// flight asked for before it.
func TestWriteByAnyOverrideCounts(t *testing.T) {
	for _, tc := range []struct {
		name string
		hdr  [][2]string
	}{
		{"one header", [][2]string{{"X-HTTP-Method-Override", "DELETE"}}},
		{"second header", [][2]string{{"X-HTTP-Method-Override", "GET"}, {"X-HTTP-Method", "DELETE"}}},
		{"second line", [][2]string{{"X-HTTP-Method-Override", "GET"}, {"X-HTTP-Method-Override", "delete"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				before, during := readAroundWrite(t, func(tr *client.Transport) {
					r, err := http.NewRequest("GET", "https://crm.test/crm/v8/Leads/7?wait=20ms", nil)
					if !assert.NoError(t, err) {
						return
					}
					r.Header.Set("Authorization", "Zoho-oauthtoken ann")
					for _, h := range tc.hdr {
						r.Header.Add(h[0], h[1])
					}
					if resp, err := tr.RoundTrip(r); assert.NoError(t, err) {
						_ = resp.Body.Close()
					}
				})
				assert.Contains(t, before, `"n":1`)
				assert.Contains(t, during, `"n":2`, "its own call: a write was under way")
			})
		})
	}
}

// A write that cannot change a cached route's answer (one to a coalesced
// route's path, outside every cached route's) does not keep that answer
// out of the cache: the cache drops, and refuses to store, only what the
// writes to its routes' paths may change. Since the saver's one count of
// writes (saver.gen) became the cache's too, every record write overlapping
// a metadata read kept its answer out of the cache: under a steady stream
// of record writes, the metadata cache stored nothing and every read paid.
func TestCacheKeepsAnswerAcrossOtherWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		tr := newZoho(t, crm, metaRules(), client.WithCoalescing(client.CoalesceRule{Route: recordsRoute}))
		const url = "/crm/v8/settings/fields?module=Leads&wait=100ms"
		var wg sync.WaitGroup
		wg.Go(func() { assert.Contains(t, mustRead(t, tr, url, "ann"), `"n":1`) }) // 0 to 100ms
		wg.Go(func() {
			time.Sleep(10 * time.Millisecond) // a record write, 10 to 30ms
			st, _, err := send(context.Background(), tr, "POST", "/crm/v8/Leads?wait=20ms", "ann", lead(1, "Last_Name", "A"))
			assert.NoError(t, err)
			assert.Equal(t, 201, st)
		})
		wg.Wait()
		assert.Contains(t, mustRead(t, tr, url, "ann"), `"n":1`, "from the cache: a record write changes no field")
		calls, _ := crm.spent()
		assert.Equal(t, 2, calls, "the read and the write")
	})
}

// A learned pool's first call, retried after a 503 that taught the pool
// its size, counts once in its quota, as in the pool: the failed attempt
// was refunded, the retry was admitted with a quota ticket (held).
func TestLearnedPoolRetriedFirstCallChargedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int64
		base := rtFunc(func(r *http.Request) (*http.Response, error) {
			st := http.StatusOK
			if n.Add(1) == 1 {
				st = http.StatusServiceUnavailable
			}
			return response(r, st, "{}", "X-Ratelimit-Limit", "10"), nil
		})
		tr := checkedTransport(t, base, client.WithClock(bubbleClock{}), client.WithBodyTracking(),
			client.WithRetry(client.RetryPolicy{MaxAttempts: 2, Retry5xx: true, Backoff: time.Millisecond}),
			client.WithIntegrations(client.Integration{Name: "export", Quota: 50}))
		resp := mustGet(t, tr, "export", "/crm/Leads")
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, int64(2), n.Load(), "retried once")
		now := time.Now()
		assert.Equal(t, int64(1), tr.Limiter().Peek(now, "").Used, "the pool")
		assert.Equal(t, int64(1), tr.Limiter().Peek(now, "/export").Used, "the quota")
	})
}
