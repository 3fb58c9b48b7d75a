package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A client that sends its body slower than timeouts.read is cut off; that
// is the client's fault, not the upstream's: not an upstream error, and the
// call is not refunded as a 5xx would be.
func TestSlowBodyIsNotAnUpstreamError(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	t.Cleanup(up.Close)
	g := newGateway(t, strings.ReplaceAll(tenantsYAML, "%s", up.URL)+"costs: {profile: none, default: 10}\n")
	gw := httptest.NewUnstartedServer(g)
	gw.Config.ReadTimeout = 200 * time.Millisecond
	gw.Start()
	t.Cleanup(gw.Close)
	c, err := net.Dial("tcp", strings.TrimPrefix(gw.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: x\r\nX-Org: acme\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err == nil {
		t.Logf("status %d", resp.StatusCode)
	} else {
		t.Logf("read: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	if v := testutil.ToFloat64(g.m.upstream); v != 0 {
		t.Errorf("upstream errors = %v, want 0: the client was slow", v)
	}
	if d := g.l.Peek(time.Now(), "acme"); d.Used == 0 {
		t.Errorf("acme used %d credits: the slow call was refunded", d.Used)
	}
}
