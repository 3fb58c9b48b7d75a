package client_test

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/middleware/client"
)

// An opaque URL whose opaque part carries a query ("/crm/big?page=2", as
// code that builds the request target by hand writes it) is sent as
// written, and the server reads the path /crm/big, which costs 50 credits.
// opaquePath takes the whole opaque part for the path, query and all, so
// the cost table finds no route and prices it as unrouted (1 credit):
// three go out on a pool of 100, which the server charges 150.
func TestOpaqueURLWithQueryPricedByItsPath(t *testing.T) {
	for _, opaque := range []string{"/crm/big?page=2", "//api.test/crm/big?page=2"} {
		t.Run(opaque, func(t *testing.T) {
			u := &url.URL{Scheme: "http", Host: "api.test", Opaque: opaque}
			// What the server reads: the request as net/http writes it.
			r0, err := http.NewRequest(http.MethodGet, "http://api.test/", nil)
			require.NoError(t, err)
			r0.URL = u
			var sb strings.Builder
			require.NoError(t, r0.Write(&sb))
			srv, err := http.ReadRequest(bufio.NewReader(strings.NewReader(sb.String())))
			require.NoError(t, err)
			require.Equal(t, "/crm/big", srv.URL.Path, "the server reads the path")

			var sent int
			base := rtFunc(func(r *http.Request) (*http.Response, error) {
				sent++
				return response(r, http.StatusOK, "{}"), nil
			})
			tr := checkedTransport(t, base, client.WithPlan(plan(100, 5)), client.WithCosts(costs(t)))
			var refused int
			for range 3 {
				r, err := http.NewRequestWithContext(client.WithFailFast(context.Background()), http.MethodGet, "http://api.test/", nil)
				require.NoError(t, err)
				r.URL = u
				resp, err := tr.RoundTrip(r)
				var le *client.LimitError
				if errors.As(err, &le) {
					refused++
					continue
				}
				require.NoError(t, err)
				require.NoError(t, resp.Body.Close())
			}
			assert.Equal(t, 2, sent, "two calls of 50 credits in a pool of 100")
			assert.Equal(t, 1, refused)
		})
	}
}
