package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// limits sends one GET through gw and returns the limit and remaining
// credits it reports.
func limits(t *testing.T, gw *gatewayProc) (limit, remaining int64) {
	t.Helper()
	resp, err := http.Get("http://" + gw.proxy + "/crm/Leads")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	limit, _ = strconv.ParseInt(resp.Header.Get("X-Ratelimit-Limit"), 10, 64)
	remaining, _ = strconv.ParseInt(resp.Header.Get("X-Ratelimit-Remaining"), 10, 64)
	return limit, remaining
}

// A plan change on SIGHUP over Redis reaches the tenants Redis holds, on
// the replica reloaded and on the one that was not, and keeps what they
// spent.
func TestSIGHUPPlanChangeOverRedis(t *testing.T) {
	addr := startRedis(t)
	crm := newFakeCRM(t, 0)
	dir := t.TempDir()
	conf := func(credits int) string {
		return fmt.Sprintf("upstream: %s\nplan: {credits: %d, window: 1h, concurrency: 4}\n"+
			"costs: {profile: none, default: 1}\nredis: {url: \"redis://%s\", prefix: \"reload:\"}\n", crm.srv.URL, credits, addr)
	}
	cfg := writeFile(t, dir, "gw.yaml", conf(300))
	a := startGateway(t, nil, "-config", cfg)
	b := startGateway(t, nil, "-config", cfg)
	for range 9 {
		limits(t, a)
	}
	if l, r := limits(t, b); l != 300 || r != 290 {
		t.Fatalf("before the reload: limit %d remaining %d, want 300 and 290", l, r)
	}
	writeFile(t, dir, "gw.yaml", conf(600))
	a.signal(syscall.SIGHUP)
	a.waitLog("configuration reloaded", 5*time.Second)
	if l, r := limits(t, a); l != 600 || r != 589 {
		t.Fatalf("the replica reloaded: limit %d remaining %d, want 600 and 589", l, r)
	}
	if l, r := limits(t, b); l != 600 || r != 588 {
		t.Fatalf("the other replica: limit %d remaining %d, want 600 and 588 (the plan is stored in Redis)", l, r)
	}
}
