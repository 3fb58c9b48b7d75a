package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// call sends one request through the gateway and returns the status and the
// remaining credits it reports (-1 when absent).
func call(t *testing.T, gw *gatewayProc, method, path string) (int, int64) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+gw.proxy+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	rem, err := strconv.ParseInt(resp.Header.Get("X-Ratelimit-Remaining"), 10, 64)
	if err != nil {
		rem = -1
	}
	return resp.StatusCode, rem
}

func spendBulk(t *testing.T, gw *gatewayProc, n int) {
	t.Helper()
	for range n {
		if code, _ := call(t, gw, http.MethodPost, "/crm/bulk/v8/read"); code != http.StatusOK {
			t.Fatalf("bulk read: %d", code)
		}
	}
}

// A restart with the snapshot file does not refill the pool; a corrupt file
// is reported and the gateway serves with full pools.
func TestRestartKeepsSpending(t *testing.T) {
	crm := newFakeCRM(t, 0)
	snap := filepath.Join(t.TempDir(), "state.json")
	gw := startGateway(t, []string{"CREDITGATE_SNAPSHOT=" + snap}, "-upstream", crm.srv.URL)
	spendBulk(t, gw, 10) // 500 credits
	gw.signal(syscall.SIGTERM)
	if code := gw.wait(20 * time.Second); code != 0 {
		t.Fatalf("exit code %d; log:\n%s", code, gw.log())
	}
	gw.waitLog("snapshot saved", time.Second)

	gw = startGateway(t, nil, "-upstream", crm.srv.URL, "-snapshot", snap)
	gw.waitLog("snapshot restored", time.Second)
	if _, rem := call(t, gw, http.MethodGet, "/crm/v8/Leads"); rem != 51_000-500-1 {
		t.Fatalf("remaining after restart = %d, want %d", rem, 51_000-501)
	}
	gw.signal(syscall.SIGTERM)
	gw.wait(20 * time.Second)

	if err := os.WriteFile(snap, []byte("{not a snapshot"), 0o600); err != nil {
		t.Fatal(err)
	}
	gw = startGateway(t, nil, "-upstream", crm.srv.URL, "-snapshot", snap)
	l := gw.waitLog("snapshot not restored", time.Second)
	if e, _ := l["error"].(string); !strings.Contains(e, "moved to "+snap+".corrupt-") || l["level"] != "ERROR" {
		t.Fatalf("corrupt snapshot log: %v", l)
	}
	if code, rem := call(t, gw, http.MethodGet, "/crm/v8/Leads"); code != http.StatusOK || rem != 51_000-1 {
		t.Fatalf("after a corrupt snapshot: %d, remaining %d", code, rem)
	}
}

// SIGTERM stops new connections but lets a request in flight finish.
func TestSIGTERMDrains(t *testing.T) {
	crm := newFakeCRM(t, 0)
	crm.mu.Lock()
	crm.hold = make(chan struct{})
	crm.mu.Unlock()
	gw := startGateway(t, nil, "-upstream", crm.srv.URL)
	type result struct {
		code int
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + gw.proxy + "/crm/v8/Leads/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- result{code: resp.StatusCode, body: string(b)}
	}()
	<-crm.arrived // the request is at the upstream
	gw.signal(syscall.SIGTERM)
	gw.waitLog("shutting down", 5*time.Second)
	select {
	case <-gw.done:
		t.Fatal("exited with a request in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(crm.hold)
	r := <-got
	if r.err != nil || r.code != http.StatusOK || !strings.Contains(r.body, `"data"`) {
		t.Fatalf("in-flight request: %d %q %v", r.code, r.body, r.err)
	}
	if code := gw.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// SIGHUP changes the plan without forgetting what was spent; a bad file is
// logged with its line and field, and the running configuration kept.
func TestSIGHUPReload(t *testing.T) {
	crm := newFakeCRM(t, 0)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "gw.yaml", "upstream: "+crm.srv.URL+"\nplan: {edition: free}\n")
	gw := startGateway(t, nil, "-config", cfg)
	spendBulk(t, gw, 10)
	if _, rem := call(t, gw, http.MethodGet, "/crm/v8/Leads"); rem != 5000-501 {
		t.Fatalf("free plan: remaining %d", rem)
	}
	writeFile(t, dir, "gw.yaml", "upstream: "+crm.srv.URL+"\nplan: {edition: enterprise, licences: 5}\n")
	gw.signal(syscall.SIGHUP)
	gw.waitLog("configuration reloaded", 5*time.Second)
	if _, rem := call(t, gw, http.MethodGet, "/crm/v8/Leads"); rem != 55_000-502 {
		t.Fatalf("after reload: remaining %d, want %d", rem, 55_000-502)
	}
	writeFile(t, dir, "gw.yaml", "upstream: "+crm.srv.URL+"\nplan:\n  edition: enterprise\n  licences: lots\n")
	gw.signal(syscall.SIGHUP)
	l := gw.waitLog("configuration not reloaded", 5*time.Second)
	if e, _ := l["error"].(string); !strings.Contains(e, "gw.yaml:4:13: plan.licences: want a whole number") {
		t.Fatalf("bad reload logged %v", l)
	}
	if _, rem := call(t, gw, http.MethodGet, "/crm/v8/Leads"); rem != 55_000-503 {
		t.Fatalf("after a bad reload: remaining %d", rem)
	}
}

// SIGHUP to another upstream closes the gateway's idle connections to the
// old one at once, and the one of a call in flight when it ends, which it
// does on the old upstream; the next call goes to the new one. The transport
// kept them for its idle timeout, 90 s.
func TestSIGHUPNewUpstreamClosesOld(t *testing.T) {
	a, b := newFakeCRM(t, 0), newFakeCRM(t, 0)
	hold := make(chan struct{})
	release := sync.OnceFunc(func() { close(hold) })
	t.Cleanup(release) // before a closes, which waits for its calls
	a.mu.Lock()
	a.hold = hold
	a.mu.Unlock()
	dir := t.TempDir()
	cfg := writeFile(t, dir, "gw.yaml", "upstream: "+a.srv.URL+"\n")
	gw := startGateway(t, nil, "-config", cfg)
	got := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + gw.proxy + "/crm/v8/Leads/slow")
		if err != nil {
			got <- 0
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	<-a.arrived
	if code, _ := call(t, gw, http.MethodGet, "/crm/v8/Leads"); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	a.waitConns(t, 2, "before the reload") // the slow call's, and the second's, now idle

	writeFile(t, dir, "gw.yaml", "upstream: "+b.srv.URL+"\n")
	gw.signal(syscall.SIGHUP)
	gw.waitLog("configuration reloaded", 5*time.Second)
	callsA := a.calls.Load()
	if code, _ := call(t, gw, http.MethodGet, "/crm/v8/Leads"); code != http.StatusOK || b.calls.Load() != 1 {
		t.Fatalf("after the reload: status %d, %d calls at the new upstream", code, b.calls.Load())
	}
	a.waitConns(t, 1, "after the reload, the idle connection")
	release()
	if code := <-got; code != http.StatusOK {
		t.Fatalf("the call in flight over the reload: status %d", code)
	}
	a.waitConns(t, 0, "after the call in flight ended")
	if n := a.calls.Load() - callsA; n != 0 {
		t.Fatalf("%d calls at the old upstream after the reload", n)
	}
}

// A crossing goes to the webhook, retried after a failure, once.
func TestWebhookEndToEnd(t *testing.T) {
	crm := newFakeCRM(t, 0)
	var mu sync.Mutex
	var got []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p map[string]any
		_ = json.NewDecoder(r.Body).Decode(&p)
		mu.Lock()
		defer mu.Unlock()
		got = append(got, p)
		if len(got) == 1 {
			w.WriteHeader(http.StatusInternalServerError) // the first attempt fails
		}
	}))
	defer hook.Close()
	cfg := writeFile(t, t.TempDir(), "gw.yaml", `
plan: {credits: 100, concurrency: 5}
costs: {profile: none, default: 10}
alerts:
  thresholds: [50]
  webhook: {initial_backoff: 10ms}
`)
	gw := startGateway(t, []string{"CREDITGATE_WEBHOOK_URL=" + hook.URL}, "-config", cfg, "-upstream", crm.srv.URL)
	for range 7 { // 70 of 100 credits: one crossing of 50 %
		if code, _ := call(t, gw, http.MethodGet, "/x"); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
	}
	gw.waitLog("usage alert", 5*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	gw.signal(syscall.SIGTERM)
	gw.wait(10 * time.Second)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0]["id"] != got[1]["id"] || got[1]["threshold"] != 50.0 || got[1]["used"] != 50.0 || got[1]["limit"] != 100.0 {
		t.Fatalf("webhook got %v, want the 50 %% crossing twice (a failure, then the retry)", got)
	}
}
