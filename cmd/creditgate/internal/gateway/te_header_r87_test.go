package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/creditgate/creditgate/cmd/creditgate/internal/config"
)

// Build refuses identity.tenant_header: Host, because net/http moves Host
// out of a request's headers ("every call would have no key"). It does the
// same with Transfer-Encoding (into Request.TransferEncoding), which Build
// took: every call then had no tenant, one pool for all, without a word.
func TestTransferEncodingIsNoKeyHeader(t *testing.T) {
	seen := make(chan []string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		seen <- r.Header.Values("Transfer-Encoding")
	}))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodPost, srv.URL, io.NopCloser(strings.NewReader("x"))) // no length: chunked
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if v := <-seen; len(v) != 0 {
		t.Fatalf("premise: the server kept Transfer-Encoding in the headers: %q", v)
	}
	for _, field := range []string{"tenant_header", "app_header"} {
		c, err := config.Parse("t.yaml", []byte("upstream: http://127.0.0.1:9000\nidentity: {"+field+": Transfer-Encoding}\n"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := config.Build(c); err == nil || !strings.Contains(err.Error(), "identity."+field) {
			t.Errorf("identity.%s: Transfer-Encoding, which no handler sees, accepted (err %v)", field, err)
		}
	}
}
