package middleware

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/usage"
)

// TestLongKeys (issue #13 item 5): 1,000 tenants with 256 KiB keys took
// 265 MB. A tenant or application key over the limit is refused before the
// limiter sees it; the keys that only name a request in the statistics are
// shortened, and stay apart.
func TestLongKeys(t *testing.T) {
	calls := 0
	tenantKey := Keys{Tenant: FromHeader("X-Tenant"), IP: FromHeader("X-Ip")}
	e := newEnv(t, testPlan(100, 5, 5), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls++ }), tenantKey)
	long := strings.Repeat("t", DefaultMaxKeyBytes+1)

	for _, hdr := range []string{"X-Tenant", HeaderClientID} {
		rec := e.do("GET", "/crm/Leads", "", hdr, long)
		assert.Equal(t, http.StatusBadRequest, rec.Code, hdr)
		b := decodeBody(t, rec)
		assert.Equal(t, ByKey, b.By)
		assert.Equal(t, int64(DefaultMaxKeyBytes), b.Limit)
		assert.NotContains(t, rec.Body.String(), "ttt", "the key is not echoed")
	}
	assert.Zero(t, calls)
	assert.NotContains(t, e.usage.Tenants(), long, "the limiter never saw the tenant")
	assert.Equal(t, http.StatusOK, e.do("GET", "/crm/Leads", "", "X-Tenant", long[1:], HeaderClientID, long[1:]).Code,
		"a key of exactly the limit is accepted")

	// Statistics-only keys: served, shortened to the limit, still distinct.
	users := []string{strings.Repeat("u", 300) + "1", strings.Repeat("u", 300) + "2"}
	for _, u := range users {
		require.Equal(t, http.StatusOK, e.do("GET", "/crm/Leads", "", HeaderUserID, u, "X-Ip", u).Code)
	}
	require.Equal(t, http.StatusOK, e.do("GET", "/crm/"+strings.Repeat("m", 300), "").Code)
	require.Equal(t, http.StatusOK, e.do(strings.Repeat("M", 300), "/other", "").Code)
	for _, dim := range []usage.Dimension{usage.User, usage.IP, usage.Module, usage.Method} {
		top := e.usage.Top("", dim, t0.Add(-time.Hour), t0.Add(time.Hour), 100)
		shortened := map[string]bool{}
		for _, c := range top {
			assert.LessOrEqual(t, len(c.Key), DefaultMaxKeyBytes, "dimension %d", dim)
			if len(c.Key) == DefaultMaxKeyBytes {
				shortened[c.Key] = true
				assert.Contains(t, c.Key, "~")
			}
		}
		want := 1
		if dim == usage.User || dim == usage.IP {
			want = 2 // the two users differ only past the limit
		}
		assert.Len(t, shortened, want, "dimension %d: %v", dim, top)
	}
}

func TestWithMaxKeyBytes(t *testing.T) {
	l := newEnv(t, testPlan(1, 1, 1), okHandler()).l
	for _, n := range []int{-1, 0, 63, 1<<20 + 1} {
		_, err := New(okHandler(), l, testCosts(t), WithMaxKeyBytes(n))
		assert.ErrorIs(t, err, ErrBadOption, "%d", n)
	}
	e := newEnv(t, testPlan(100, 5, 5), okHandler(), WithMaxKeyBytes(64))
	assert.Equal(t, http.StatusOK, e.do("GET", "/crm/Leads", "", HeaderClientID, strings.Repeat("a", 64)).Code)
	assert.Equal(t, http.StatusBadRequest, e.do("GET", "/crm/Leads", "", HeaderClientID, strings.Repeat("a", 65)).Code)
}

// In shadow mode a request with a long tenant key goes on unmetered, as an
// unpriceable one does.
func TestLongKeyShadow(t *testing.T) {
	var cs Counters
	e := newEnv(t, testPlan(100, 5, 5), okHandler(), WithShadowAll(), WithCounters(&cs))
	long := strings.Repeat("a", DefaultMaxKeyBytes+1)
	assert.Equal(t, http.StatusOK, e.do("POST", "/crm/bulk", "", HeaderClientID, long).Code)
	assert.Equal(t, int64(1), cs.KeyErrors.Load())
	assert.Zero(t, cs.Admitted.Load())
	assert.Equal(t, int64(100), e.l.Peek(e.clock.Now(), "").Remaining)
}

func TestHashKey(t *testing.T) {
	for _, n := range []int{64, 100, 256} {
		seen := map[string]string{}
		for _, s := range []string{
			strings.Repeat("x", n+1), strings.Repeat("x", n+2), strings.Repeat("x", 10*n),
			strings.Repeat("é", n), "a" + strings.Repeat("€", n), "ab" + strings.Repeat("€", n),
			strings.Repeat("\xff", n+1),
		} {
			k := hashKey(s, n)
			assert.LessOrEqual(t, len(k), n)
			assert.GreaterOrEqual(t, len(k), n-3, "at most a rune's tail is cut")
			if utf8.ValidString(s) {
				assert.True(t, utf8.ValidString(k), "%q", k)
			}
			assert.True(t, strings.HasPrefix(s, k[:strings.LastIndexByte(k, '~')]))
			assert.NotContains(t, seen, k, "%q and %q", seen[k], s)
			seen[k] = s
		}
	}
	assert.Equal(t, hashKey(strings.Repeat("x", 300), 64), hashKey(strings.Repeat("x", 300), 64), "stable")
}
