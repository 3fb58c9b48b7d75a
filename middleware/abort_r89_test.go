package middleware

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The gateway's next is an httputil.ReverseProxy. When the client goes
// away while the proxy copies the upstream's 200 body, the proxy panics with
// http.ErrAbortHandler (the server's sentinel for "abort the response",
// which it recovers silently). The upstream has served the call and charged
// for it; the middleware takes the panic for a failure and refunds the whole
// price, so a client that closes the connection once it has read what it
// wants pays nothing: here a 5-credit bulk call, for which the pool should
// show 95 of 100 left.
func TestClientAbortAfter200KeepsCredits_r89(t *testing.T) {
	chunk := strings.Repeat("x", 64<<10)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		for range 256 { // 16 MB: more than the sockets buffer
			if _, err := w.Write([]byte(chunk)); err != nil {
				return
			}
		}
	}))
	defer upstream.Close()
	u, err := url.Parse(upstream.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ErrorLog = nil
	done := make(chan struct{})
	var sawPanic any
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			sawPanic = recover()
			if sawPanic != nil {
				panic(sawPanic)
			}
		}()
		proxy.ServeHTTP(w, r)
	})
	e := newEnv(t, testPlan(100, 2, 1), next)
	front := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done) // after the middleware's finish
		e.h.ServeHTTP(w, r)
	}))
	front.Config.ErrorLog = nil
	front.Start()
	defer front.Close()

	conn, err := net.Dial("tcp", front.Listener.Addr().String())
	require.NoError(t, err)
	_, err = conn.Write([]byte("POST /crm/bulk HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"))
	require.NoError(t, err)
	status, err := bufio.NewReader(conn).ReadString('\n')
	require.NoError(t, err)
	require.Contains(t, status, "200")
	require.NoError(t, conn.Close()) // the client has what it wanted

	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy did not return")
	}
	require.Equal(t, http.ErrAbortHandler, sawPanic, "the proxy aborts as net/http has it do")
	left := e.l.Peek(e.clock.Now(), "").Remaining
	require.Equal(t, int64(95), left, "a served 200 whose client went away was refunded")
}
