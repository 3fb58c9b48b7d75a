package gateway

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// echoUpgrade is an upstream that switches protocols on every request and
// then echoes what it reads until the connection closes.
func echoUpgrade(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			_, _ = w.Write([]byte("ok"))
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		_ = brw.Flush()
		_, _ = io.Copy(conn, brw)
	}))
	t.Cleanup(s.Close)
	return s
}

// upgrade opens an upgraded connection through the gateway at addr and
// checks it echoes.
func upgrade(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(c, "GET /crm/v8/Leads HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	_, _ = io.WriteString(c, "ping\n")
	if l, err := br.ReadString('\n'); l != "ping\n" {
		t.Fatalf("echo: %q %v", l, err)
	}
	return c, br
}

func get(t *testing.T, addr string) int {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/crm/v8/Leads")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// An upgraded connection holds its concurrency slot for as long as it is
// open, and gives it back when it closes.
func TestUpgradeHoldsSlotForItsLife(t *testing.T) {
	up := echoUpgrade(t)
	g := newGateway(t, "upstream: "+up.URL+"\nplan: {credits: 1000, concurrency: 1}\n")
	gw := httptest.NewServer(g)
	t.Cleanup(gw.Close)
	addr := strings.TrimPrefix(gw.URL, "http://")
	c, _ := upgrade(t, addr)
	if code := get(t, addr); code != http.StatusTooManyRequests {
		t.Fatalf("with the upgraded connection open: %d, want 429", code)
	}
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for get(t, addr) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("slot not given back after the upgraded connection closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A graceful stop waits for an upgraded connection (http.Server.Shutdown
// does not: it forgets hijacked connections) up to timeouts.shutdown, then
// closes it; Run returns with no handler left running (goleak checks).
func TestShutdownWaitsForUpgraded(t *testing.T) {
	up := echoUpgrade(t)
	addr := freeAddr(t)
	eff := effective(t, "upstream: "+up.URL+"\nlisten: "+addr+"\ndashboard: {enabled: false}\ntimeouts: {shutdown: 1s}\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, eff, Options{Logger: quiet()}) }()
	awaitListening(t, addr)
	c, br := upgrade(t, addr)
	defer c.Close()
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Run returned after %v with an upgraded connection open (err %v)", time.Since(start), err)
	case <-time.After(300 * time.Millisecond):
	}
	drainedShutdown(t, c, br, done, start)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := br.ReadString('\n'); err == nil {
		t.Fatal("upgraded connection still open after the stop")
	}
}

// freeAddr returns a loopback address with a port nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// awaitListening waits until Run's listener at addr accepts connections.
func awaitListening(t *testing.T, addr string) {
	t.Helper()
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if i == 200 {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// drainedShutdown checks a graceful stop begun at start with the upgraded
// connection c (read through br) open: c is still served during the drain,
// and Run returns nil after about timeouts.shutdown (1 s).
func drainedShutdown(t *testing.T, c net.Conn, br *bufio.Reader, done <-chan error, start time.Time) {
	t.Helper()
	_, _ = io.WriteString(c, "still\n")
	if l, err := br.ReadString('\n'); l != "still\n" {
		t.Fatalf("echo during the drain: %q %v", l, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 5*time.Second {
		t.Fatalf("Run returned after %v, want about timeouts.shutdown (1s)", d)
	}
}
