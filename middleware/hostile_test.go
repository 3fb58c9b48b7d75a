package middleware

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/store/memory"
)

// Hostile and odd requests on the wire, each on a fresh server: every one
// gets a 4xx or a correct admission, never a 5xx; once the server has
// finished it no slot is held; and only what was served spent credits
// (here each costs 1 when served: GET /crm/{module}, the default route,
// or a one-record body on POST /crm/{module}). Held: this documents it.
func TestHostileRequestsOnTheWire(t *testing.T) {
	for _, tc := range []struct {
		name, req string
		status    int // 0: the server answers itself or not at all
		spent     int64
	}{
		{"CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 200, 1},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0},
		{"absolute-form target", "GET http://evil/crm/Leads HTTP/1.1\r\nHost: x\r\n\r\n", 200, 1},
		{"doubled slashes", "GET //crm//Leads HTTP/1.1\r\nHost: x\r\n\r\n", 200, 1},
		{"unknown method", "BREW /crm/Leads HTTP/1.1\r\nHost: x\r\n\r\n", 200, 1},
		{"HEAD", "HEAD /crm/Leads HTTP/1.1\r\nHost: x\r\n\r\n", 200, 1},
		{"repeated client ids", "GET /crm/Leads HTTP/1.1\r\nHost: x\r\nX-Client-Id: a\r\nX-Client-Id: b\r\n\r\n", 200, 1},
		{"non-UTF-8 client id", "GET /crm/Leads HTTP/1.1\r\nHost: x\r\nX-Client-Id: \xff\xfe\r\n\r\n", 200, 1},
		{"client id over the key limit", "GET /crm/Leads HTTP/1.1\r\nHost: x\r\nX-Client-Id: " + strings.Repeat("a", 300) + "\r\n\r\n", 400, 0},
		{"body ends early", "POST /crm/Leads HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n{\"data\":[1,", 400, 0},
		{"chunked body ends early", "POST /crm/Leads HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"dat\r\n", 400, 0},
		{"chunked body", "POST /crm/Leads HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"dat\r\n4\r\na\":[\r\n3\r\n1]}\r\n0\r\n\r\n", 200, 1},
		{"gzip body", "POST /crm/Leads HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\n\x1f\x8b\x08", 400, 0},
		{"declared too large", "POST /crm/Leads HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + strings.Repeat(" ", 1000), 413, 0},
		{"chunked too large", "POST /crm/Leads HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n" + strings.Repeat(" ", 100) + "\r\n0\r\n\r\n", 413, 0},
		{"duplicate data key", "POST /crm/Leads HTTP/1.1\r\nHost: x\r\nContent-Length: 23\r\n\r\n{\"data\":[1],\"data\":[2]}", 400, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, testPlan(100, 5, 5), okHandler())
			srv := httptest.NewServer(e.h)
			status := rawRequest(t, srv.Listener.Addr().String(), tc.req)
			srv.Close() // waits for the handler
			if tc.status != 0 {
				assert.Equal(t, tc.status, status)
			}
			assert.Less(t, status, 500)
			assert.Zero(t, e.l.Store().(*memory.Store).Held(""), "slots held")
			assert.Equal(t, 100-tc.spent, e.l.Peek(e.clock.Now(), "").Remaining, "credits spent")
		})
	}
}

// rawRequest writes req on a new connection, ends the client's side, and
// returns the response's status (0 if none could be read).
func rawRequest(t *testing.T, addr, req string) int {
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, req)
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
