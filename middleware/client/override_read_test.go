package client_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/middleware/client"
)

// overrideServer answers as a server that honours any line (or comma
// element) of any method override header: HEAD with no body, otherwise
// the read's body.
func overrideServer() http.RoundTripper {
	return rtFunc(func(r *http.Request) (*http.Response, error) {
		for _, k := range []string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"} {
			for _, v := range r.Header[k] {
				for _, e := range strings.Split(v, ",") {
					if strings.EqualFold(strings.TrimSpace(e), "HEAD") {
						return response(r, 200, ""), nil
					}
				}
			}
		}
		return response(r, 200, `{"fields":[]}`), nil
	})
}

// A GET whose method override headers name another method is never
// answered from the cache nor kept there: the server may run it as that
// method (save.go's read says so). The check read only the first header's
// first line (cost.OverrideMethod), so an empty first line, or an empty
// X-HTTP-Method-Override beside X-HTTP-Method: HEAD, let a read the server
// ran as HEAD be cached: its empty answer was then every plain GET's.
func TestOverriddenReadNotCached(t *testing.T) {
	for _, tc := range []struct {
		name string
		hdr  [][2]string
	}{
		{"empty first line", [][2]string{{"X-HTTP-Method-Override", ""}, {"X-HTTP-Method-Override", "HEAD"}}},
		{"empty first header", [][2]string{{"X-HTTP-Method-Override", " "}, {"X-HTTP-Method", "HEAD"}}},
		{"empty first element", [][2]string{{"X-HTTP-Method-Override", ", HEAD"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := newZoho(t, overrideServer(), metaRules())
				const url = "https://crm.test/crm/v8/settings/fields?module=Leads"
				r, err := http.NewRequest("GET", url, nil)
				require.NoError(t, err)
				r.Header.Set("Authorization", "Zoho-oauthtoken ann")
				for _, h := range tc.hdr {
					r.Header.Add(h[0], h[1])
				}
				resp, err := tr.RoundTrip(r)
				require.NoError(t, err)
				_ = resp.Body.Close()
				st, body, err := send(context.Background(), tr, "GET", "/crm/v8/settings/fields?module=Leads", "ann", "")
				require.NoError(t, err)
				assert.Equal(t, 200, st)
				assert.Equal(t, `{"fields":[]}`, body, "a plain GET got the overridden read's answer")
				assert.Equal(t, client.Saving{}, tr.Stats().Saved.Cached)
			})
		})
	}
}

// A request whose override headers name more methods than the cost table
// reads (cost.ErrAmbiguousMethod) fails RoundTrip with ErrPrice wrapping
// it, its body closed, nothing sent, counted, cached or held (held).
func TestAmbiguousOverrideRoundTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sent := 0
		base := rtFunc(func(r *http.Request) (*http.Response, error) {
			sent++
			return response(r, 200, `{}`), nil
		})
		tr := newZoho(t, base, metaRules(), client.WithCoalescing(client.CoalesceRule{Route: recordsRoute}))
		for _, m := range []string{"GET", "POST"} {
			body := &trackedBody{Reader: strings.NewReader(`{"data":[{}]}`)}
			r, err := http.NewRequest(m, "https://crm.test/crm/v8/Leads", body)
			require.NoError(t, err)
			r.Header.Set("Authorization", "Zoho-oauthtoken ann")
			r.Header["X-Http-Method-Override"] = []string{"PUT, PATCH", "DELETE", "OPTIONS"}
			resp, err := tr.RoundTrip(r)
			assert.Nil(t, resp)
			assert.ErrorIs(t, err, client.ErrPrice)
			assert.ErrorIs(t, err, cost.ErrAmbiguousMethod)
			assert.Equal(t, int64(1), body.closes.Load(), "%s: body closes", m)
		}
		assert.Zero(t, sent)
		s := tr.Stats()
		for _, is := range s.Integrations {
			assert.Zero(t, is.Requests, is.Name)
			assert.Zero(t, is.Credits, is.Name)
		}
		assert.Zero(t, s.OpenBodies)
		assert.Zero(t, s.CacheEntries)
	})
}
