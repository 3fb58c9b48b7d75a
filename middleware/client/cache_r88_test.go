package client_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A write whose URL is opaque (url.URL.Opaque: the request target as it
// is sent) drops the cache entries of the path it writes to, as the same
// write with a parsed URL does: the cache matched writes by URL.Path,
// empty in an opaque URL, so the entry of the users it changed was served
// on, stale, until its TTL.
func TestCacheInvalidatedByOpaqueWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		wire := rtFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Opaque != "" { // the fake server reads Path: as the wire would carry it
				u := *r.URL
				u.Path, u.Opaque = u.Opaque, ""
				r = r.Clone(r.Context())
				r.URL = &u
			}
			return crm.RoundTrip(r)
		})
		tr := newZoho(t, wire, metaRules())
		assert.Contains(t, mustRead(t, tr, "/crm/v8/users", "ann"), `"n":1`)
		r, err := http.NewRequest("PUT", "https://crm.test/", strings.NewReader(`{"users":[{"id":"7"}]}`))
		require.NoError(t, err)
		r.URL = &url.URL{Scheme: "https", Host: "crm.test", Opaque: "/crm/v8/users/7"}
		r.Header.Set("Authorization", "Zoho-oauthtoken ann")
		resp, err := tr.RoundTrip(r)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		require.NoError(t, resp.Body.Close())
		require.Less(t, resp.StatusCode, 300)
		assert.Contains(t, mustRead(t, tr, "/crm/v8/users", "ann"), `"n":2`, "the users write dropped the users")
	})
}
