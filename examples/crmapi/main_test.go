package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/creditgate/creditgate/middleware"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Calls are priced with Zoho's table and answered with the limit headers;
// the dashboard is mounted beside the API.
func TestServer(t *testing.T) {
	h, closeAll, err := newServer(http.HandlerFunc(api))
	require.NoError(t, err)
	defer closeAll()
	for _, c := range []struct {
		method, path string
		remaining    string
	}{{"GET", "/crm/v8/Leads", "50999"}, {"POST", "/crm/bulk/v8/read", "50949"}} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(c.method, c.path, nil))
		assert.Equal(t, http.StatusOK, w.Code, c.path)
		assert.Equal(t, c.remaining, w.Header().Get(middleware.HeaderRemaining), c.path)
		assert.Equal(t, "51000", w.Header().Get(middleware.HeaderLimit), c.path)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/dashboard/api/summary", nil))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), `"used":51`)
}
