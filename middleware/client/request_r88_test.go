package client_test

import (
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

// A request with no URL is an error, as net/http's Transport returns
// ("http: nil Request.URL"), with its body closed: RoundTrip panicked
// with a nil dereference pricing it, and left the body open.
func TestNilURLIsAnError(t *testing.T) {
	base := rtFunc(func(r *http.Request) (*http.Response, error) { return response(r, http.StatusOK, "{}"), nil })
	tr := checkedTransport(t, base, client.WithPlan(plan(100, 5)), client.WithCosts(costs(t)))
	body := &trackedBody{Reader: strings.NewReader("x")}
	r := &http.Request{Method: http.MethodPost, Header: http.Header{}, Body: body}
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = errors.New("panic")
				t.Errorf("RoundTrip panicked: %v", p)
			}
		}()
		_, err = tr.RoundTrip(r)
	}()
	assert.Error(t, err)
	assert.Equal(t, int64(1), body.closes.Load(), "the request's body closed")
}

// A request whose URL is opaque (url.URL.Opaque, which net/http sends as
// the request target as it is: a way to control the path's escaping) is
// priced by the path it sends: GET /crm/big costs 50 credits, and was
// priced as an unrouted request (1 credit, the table's default), since the
// cost table read URL.Path, empty for an opaque URL. Three of them went out
// on a pool of 100 credits, which the server charges 150.
func TestOpaqueURLPricedByItsPath(t *testing.T) {
	var sent []string
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		sent = append(sent, r.URL.RequestURI())
		return response(r, http.StatusOK, "{}"), nil
	})
	tr := checkedTransport(t, base, client.WithPlan(plan(100, 5)), client.WithCosts(costs(t)))
	var refused int
	for range 3 {
		r, err := http.NewRequestWithContext(client.WithFailFast(context.Background()), http.MethodGet, "http://api.test/", nil)
		require.NoError(t, err)
		r.URL = &url.URL{Scheme: "http", Host: "api.test", Opaque: "/crm/big"}
		resp, err := tr.RoundTrip(r)
		var le *client.LimitError
		if errors.As(err, &le) {
			refused++
			continue
		}
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
	}
	assert.Equal(t, []string{"/crm/big", "/crm/big"}, sent, "two calls of 50 credits in a pool of 100")
	assert.Equal(t, 1, refused)
	assert.Equal(t, int64(100), stat(tr, client.DefaultIntegration).Credits)
}
