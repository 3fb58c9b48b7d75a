package client_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/profile/zoho"
)

const (
	fieldsRoute = "GET /crm/v8/settings/fields"
	usersRoute  = "GET /crm/v8/users"
)

// metaRules caches fields and users for a minute.
func metaRules() client.Option {
	return client.WithCaching(client.CacheRule{Route: fieldsRoute, TTL: time.Minute},
		client.CacheRule{Route: usersRoute, TTL: time.Minute})
}

// mustRead GETs url as token and returns the body.
func mustRead(t *testing.T, tr http.RoundTripper, url, token string) string {
	t.Helper()
	return mustReadCtx(t, context.Background(), tr, url, token)
}

func mustReadCtx(t *testing.T, ctx context.Context, tr http.RoundTripper, url, token string) string {
	t.Helper()
	st, body, err := send(ctx, tr, "GET", url, token, "")
	require.NoError(t, err)
	require.Equal(t, 200, st, body)
	return body
}

// A cached answer is served until its TTL passes, and saves its credits.
func TestCacheServesWithinTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		tr := newZoho(t, crm, metaRules())
		const url = "/crm/v8/settings/fields?module=Leads"
		assert.Contains(t, mustRead(t, tr, url, "ann"), `"n":1`)
		time.Sleep(59 * time.Second)
		assert.Contains(t, mustRead(t, tr, url, "ann"), `"n":1`)
		time.Sleep(time.Second)
		assert.Contains(t, mustRead(t, tr, url, "ann"), `"n":2`, "expired at the TTL")
		calls, credits := crm.spent()
		assert.Equal(t, 2, calls)
		assert.Equal(t, int64(2), credits)
		s := tr.Stats()
		assert.Equal(t, client.Saving{Calls: 1, Credits: 1}, s.Saved.Cached)
		assert.Equal(t, int64(1), s.CacheEntries)
		assert.Positive(t, s.CacheBytes)
	})
}

// Different credentials never share an entry.
func TestCacheIsolatesCredentials(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		tr := newZoho(t, crm, metaRules())
		for range 3 {
			for _, tok := range []string{"ann", "bob", ""} {
				body := mustRead(t, tr, "/crm/v8/users", tok)
				want := `"token":""`
				if tok != "" {
					want = `"token":"Zoho-oauthtoken ` + tok + `"`
				}
				assert.Contains(t, body, want)
				assert.Contains(t, body, `"n":1`)
			}
		}
		calls, _ := crm.spent()
		assert.Equal(t, 3, calls)
		assert.Equal(t, int64(6), tr.Stats().Saved.Cached.Calls)
	})
}

// What the server says about caching is honoured.
func TestCacheHonoursServer(t *testing.T) {
	for _, tc := range []struct {
		name               string
		cacheControl, vary string
		setCookie          bool
		token, query       string
		calls              int // upstream calls for three reads, 11 s apart
	}{
		{name: "nothing said", token: "ann", calls: 1},
		{name: "no-store", cacheControl: "no-store", token: "ann", calls: 3},
		{name: "no-cache", cacheControl: "No-Cache", token: "ann", calls: 3},
		{name: "private with credentials", cacheControl: "private, max-age=600", token: "ann", calls: 1},
		{name: "private without credentials", cacheControl: "private", calls: 3},
		{name: "max-age below the TTL", cacheControl: "max-age=10", token: "ann", calls: 3},
		{name: "max-age above the TTL", cacheControl: "max-age=3600", token: "ann", calls: 1},
		{name: "malformed max-age", cacheControl: "max-age=soon", token: "ann", calls: 3},
		{name: "vary on a key header", vary: "Accept-Encoding, Authorization", token: "ann", calls: 1},
		{name: "vary on another header", vary: "X-Region", token: "ann", calls: 3},
		{name: "vary star", vary: "*", token: "ann", calls: 3},
		{name: "sets a cookie", setCookie: true, token: "ann", calls: 3},
		{name: "not a 200", query: "&status=203", token: "ann", calls: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				crm := newCRM(t)
				crm.cacheControl, crm.vary, crm.setCookie = tc.cacheControl, tc.vary, tc.setCookie
				tr := newZoho(t, crm, metaRules())
				for range 3 {
					st, _, err := send(context.Background(), tr, "GET", "/crm/v8/settings/fields?module=Leads"+tc.query, tc.token, "")
					require.NoError(t, err)
					require.NotZero(t, st)
					time.Sleep(11 * time.Second)
				}
				calls, _ := crm.spent()
				assert.Equal(t, tc.calls, calls)
			})
		})
	}
}

// A request can skip the cache (WithCacheBypass, or Cache-Control
// no-cache); its answer refreshes the entry; no-store keeps it out.
func TestCacheBypass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		tr := newZoho(t, crm, metaRules())
		const url = "/crm/v8/users"
		mustRead(t, tr, url, "ann")
		assert.Contains(t, mustReadCtx(t, client.WithCacheBypass(context.Background()), tr, url, "ann"), `"n":2`)
		assert.Contains(t, mustRead(t, tr, url, "ann"), `"n":2`, "the bypass refreshed the entry")

		r, _ := http.NewRequest("GET", "https://crm.test"+url, nil)
		r.Header.Set("Authorization", "Zoho-oauthtoken ann")
		r.Header.Set("Cache-Control", "no-cache")
		resp, err := tr.RoundTrip(r)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		calls, _ := crm.spent()
		assert.Equal(t, 3, calls)
	})
}

// A write to metadata drops what it may change, before it is sent and once
// it is answered; a write to records does not touch metadata.
func TestCacheInvalidatedByWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		tr := newZoho(t, crm, metaRules())
		urls := []string{"/crm/v8/settings/fields?module=Leads", "/crm/v8/settings/fields?module=Contacts", "/crm/v8/users"}
		read := func() (fresh []bool) {
			for _, u := range urls {
				st, body, err := send(context.Background(), tr, "GET", u, "ann", "")
				require.NoError(t, err)
				require.Equal(t, 200, st)
				fresh = append(fresh, strings.Contains(body, `"n":1`))
			}
			return fresh
		}
		write := func(method, url, body string) {
			st, _, err := send(context.Background(), tr, method, url, "ann", body)
			require.NoError(t, err)
			require.Less(t, st, 300)
		}
		read()
		write("POST", "/crm/v8/Leads", lead(1, "Last_Name", "A"))
		assert.Equal(t, []bool{true, true, true}, read(), "a record write keeps metadata")
		write("PATCH", "/crm/v8/settings/fields/42?module=Leads", `{"fields":[{"id":"42"}]}`)
		assert.Equal(t, []bool{false, true, true}, read(), "fields of Leads dropped, Contacts kept")
		write("PUT", "/crm/v8/users/7", `{"users":[{"id":"7"}]}`)
		assert.Equal(t, []bool{false, true, false}, read(), "a users write drops the users")
		write("POST", "/crm/v8/settings/fields", `{"fields":[]}`)
		assert.Equal(t, []bool{false, false, false}, read(), "no module: every entry of the route")
	})
}

// A read that overlaps a write to its metadata is not kept: it may show
// the state before the write.
func TestCacheWriteDuringRead(t *testing.T) {
	for _, tc := range []struct {
		name                string
		readAt, readTakes   time.Duration
		writeAt, writeTakes time.Duration
	}{
		// The read is answered after the write: kept only if the write's
		// invalidations are ignored (the generation).
		{name: "read around write", readTakes: 100 * time.Millisecond, writeAt: 10 * time.Millisecond, writeTakes: 50 * time.Millisecond},
		// The read is answered while the write is in flight: dropped when
		// the write is answered.
		{name: "read within write", readAt: 10 * time.Millisecond, readTakes: 20 * time.Millisecond, writeTakes: 50 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				crm := newCRM(t)
				tr := newZoho(t, crm, metaRules())
				const url = "/crm/v8/settings/fields?module=Leads"
				var wg sync.WaitGroup
				wg.Go(func() {
					time.Sleep(tc.readAt)
					mustRead(t, tr, url+"&wait="+tc.readTakes.String(), "ann")
				})
				wg.Go(func() {
					time.Sleep(tc.writeAt)
					_, _, err := send(context.Background(), tr, "POST", url+"&wait="+tc.writeTakes.String(), "ann", `{"fields":[]}`)
					assert.NoError(t, err)
				})
				wg.Wait()
				assert.Contains(t, mustRead(t, tr, url+"&wait="+tc.readTakes.String(), "ann"), `"n":2`)
				assert.Zero(t, tr.Stats().CacheEntries-1, "the fresh read is kept")
			})
		})
	}
}

// The cache keeps at most its entries and bytes, dropping the least
// recently used.
func TestCacheBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		tr := newZoho(t, crm, metaRules(), client.WithCacheSize(2, 1<<20))
		u := func(m string) string { return "/crm/v8/settings/fields?module=" + m }
		mustRead(t, tr, u("A"), "ann")
		mustRead(t, tr, u("B"), "ann")
		mustRead(t, tr, u("A"), "ann") // A is now the most recently used
		mustRead(t, tr, u("C"), "ann") // evicts B
		assert.Contains(t, mustRead(t, tr, u("A"), "ann"), `"n":1`)
		assert.Contains(t, mustRead(t, tr, u("B"), "ann"), `"n":2`)
		s := tr.Stats()
		assert.Equal(t, int64(2), s.CacheEntries)
		assert.Equal(t, int64(2), s.CacheEvicted)

		small := newZoho(t, crm, metaRules(), client.WithCacheSize(100, 1500))
		for _, m := range []string{"A", "B", "C", "D"} {
			mustRead(t, small, u(m)+"&size=400", "ann")
		}
		s = small.Stats()
		assert.LessOrEqual(t, s.CacheBytes, int64(1500))
		assert.Equal(t, int64(2), s.CacheEntries, "two entries of about 600 bytes fit")
		mustRead(t, small, u("big")+"&size=4000", "ann")
		assert.Equal(t, int64(2), small.Stats().CacheEntries, "larger than the cache: not kept")
	})
}

// Concurrent misses of a cached route share one call.
func TestCacheMissesCoalesce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		crm.latency = 50 * time.Millisecond
		tr := newZoho(t, crm, metaRules())
		polls(t, tr, "/crm/v8/users", 5, "ann")
		mustRead(t, tr, "/crm/v8/users", "ann")
		calls, _ := crm.spent()
		assert.Equal(t, 1, calls)
		s := tr.Stats().Saved
		assert.Equal(t, int64(4), s.Coalesced.Calls)
		assert.Equal(t, int64(1), s.Cached.Calls)
	})
}

// The Zoho profile's rules name routes of its cost table.
func TestZohoCacheRules(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		tr := newZoho(t, crm, client.WithCaching(zoho.CacheRules("v8", time.Hour)...),
			client.WithCoalescing(zoho.CoalesceRules("v8")...), client.WithBatching(zoho.BatchRules("v8", 0)...))
		for range 2 {
			mustRead(t, tr, "/crm/v8/org", "ann")
			mustRead(t, tr, "/crm/v8/settings/layouts?module=Deals", "ann")
		}
		calls, _ := crm.spent()
		assert.Equal(t, 2, calls)
	})
}

// A batched write invalidates what it may change, as any write does.
func TestCacheInvalidatedByBatchedWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		tr := newZoho(t, crm, client.WithCaching(client.CacheRule{Route: recordsRoute, TTL: time.Minute}),
			client.WithBatching(client.BatchRule{Route: insertRoute}))
		assert.Contains(t, mustRead(t, tr, "/crm/v8/Leads", "ann"), `"n":1`)
		assert.Contains(t, mustRead(t, tr, "/crm/v8/Deals", "ann"), `"n":1`)
		for _, a := range writes(tr, context.Background(), "POST", "/crm/v8/Leads", leads(3, 1)) {
			require.Equal(t, 201, a.status)
		}
		assert.Equal(t, []int{3}, crm.batchSizes())
		assert.Contains(t, mustRead(t, tr, "/crm/v8/Leads", "ann"), `"n":2`)
		assert.Contains(t, mustRead(t, tr, "/crm/v8/Deals", "ann"), `"n":1`)
	})
}

// A write whose path routers may read as another route drops every entry:
// it may name any of them.
func TestCacheInvalidatedByUncleanWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		tr := newZoho(t, crm, metaRules())
		mustRead(t, tr, "/crm/v8/users", "ann")
		mustRead(t, tr, "/crm/v8/settings/fields?module=Leads", "ann")
		_, _, err := send(context.Background(), tr, "PUT", "/crm/v8/settings//fields/1", "ann", `{"fields":[]}`)
		require.NoError(t, err)
		assert.Contains(t, mustRead(t, tr, "/crm/v8/users", "ann"), `"n":2`)
		assert.Contains(t, mustRead(t, tr, "/crm/v8/settings/fields?module=Leads", "ann"), `"n":2`)
	})
}
