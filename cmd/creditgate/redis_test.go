package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	goredis "github.com/redis/go-redis/v9"

	"github.com/creditgate/creditgate/middleware"
)

// startRedis starts a redis-server on a free loopback port, with no
// persistence, killed when the test ends (and with the test process, should
// it die first). It fails the test when redis-server is not installed.
func startRedis(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server is not installed: run `bash scripts/test.sh`, which installs it (Debian package redis-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir(), "--protected-mode", "no")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("redis-server: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c.Ping(context.Background()).Err() == nil {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not answer", addr)
		}
	}
}

// The pool of the replicated gateways: 300 credits an hour, 4 calls in
// flight per application, 2 bulk reads per tenant.
const replicaConfig = `
plan: {credits: 300, window: 1h, concurrency: 4, sub_concurrency: {bulk: 2}}
costs:
  profile: none
  routes:
    - {pattern: "GET /crm/{module}", cost: 1}
    - {pattern: "POST /crm/bulk/read", cost: 5, class: bulk}
redis: {url: "redis://%s", prefix: "%s", credit_leasing: %d}
`

// Two serve replicas on one Redis, loaded at once, admit one pool between
// them, never more calls in flight at the upstream than the caps, and
// report the Redis store's metrics; with credit leasing too.
func TestReplicasShareOnePool(t *testing.T) {
	addr := startRedis(t)
	for _, lease := range []int64{0, 40} {
		t.Run(fmt.Sprintf("leasing=%d", lease), func(t *testing.T) {
			crm := newFakeCRM(t, 2*time.Millisecond)
			cfg := writeFile(t, t.TempDir(), "gw.yaml", fmt.Sprintf(replicaConfig, addr, fmt.Sprintf("e2e%d:", lease), lease))
			snap := filepath.Join(t.TempDir(), "state.json")
			gws := []*gatewayProc{
				startGateway(t, nil, "-config", cfg, "-upstream", crm.srv.URL),
				startGateway(t, nil, "-config", cfg, "-upstream", crm.srv.URL, "-snapshot", snap),
			}
			for _, gw := range gws {
				gw.waitLog("state shared in redis", time.Second)
			}
			gws[1].waitLog("snapshot.file is not used: Redis holds the state", time.Second)
			// With credit leasing a replica keeps the slots of ended calls
			// for its next calls (store/redis, WithCreditLeasing): a busy
			// one holds every slot of an application, so there each
			// replica serves an application of its own.
			app, apps := func(int) string { return "sync-app" }, int64(1)
			if lease > 0 {
				app, apps = func(r int) string { return fmt.Sprint("app-", r) }, 2
			}
			admitted := loadReplicas(t, gws, app)
			var total, calls int64
			for i, a := range admitted {
				t.Logf("replica %d admitted %d calls, %d credits", i, a.calls, a.credits)
				if a.calls == 0 {
					t.Errorf("replica %d admitted nothing: the load did not reach both", i)
				}
				total += a.credits
				calls += a.calls
			}
			switch {
			case total > 300:
				t.Errorf("the replicas admitted %d credits, more than the one pool of 300", total)
			case lease == 0 && total != 300:
				t.Errorf("admitted %d credits before a 1-credit call was refused, want the whole pool, 300", total)
			case total < 300-300/8:
				t.Errorf("admitted %d credits: more than a leased block (1/8 of the pool) was never spent", total)
			}
			if crm.calls.Load() != calls {
				t.Errorf("the upstream saw %d calls, the clients were admitted %d", crm.calls.Load(), calls)
			}
			if p, b := crm.peak.Load(), crm.bulkPeak.Load(); p > 4*apps || b > 2 {
				t.Errorf("in flight at the upstream: %d calls (cap 4 for each of %d applications), %d bulk (cap 2)", p, apps, b)
			}
			checkRedisMetrics(t, gws, lease > 0)
			gws[1].signal(syscall.SIGTERM)
			if code := gws[1].wait(10 * time.Second); code != 0 {
				t.Fatalf("exit code %d", code)
			}
			if _, err := os.Stat(snap); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a snapshot was saved beside Redis: %v", err)
			}
		})
	}
}

type replicaTally struct{ calls, credits int64 }

// loadReplicas sends GETs and bulk reads from 12 clients spread over the
// replicas, as the application app(replica), until every replica has
// refused a 1-credit call for want of credits, and returns what each
// admitted.
func loadReplicas(t *testing.T, gws []*gatewayProc, app func(replica int) string) []replicaTally {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	tally := make([]replicaTally, len(gws))
	dry := make([]atomic.Bool, len(gws))
	refusals := map[string]int{}
	allDry := func() bool {
		for i := range dry {
			if !dry[i].Load() {
				return false
			}
		}
		return true
	}
	var wg sync.WaitGroup
	for w := range 12 {
		wg.Go(func() {
			for i := 0; i < 5000 && !allDry(); i++ {
				r, bulk := (w+i)%len(gws), w%3 == 0
				method, path, credits := http.MethodGet, "/crm/Leads", int64(1)
				if bulk {
					method, path, credits = http.MethodPost, "/crm/bulk/read", 5
				}
				req, _ := http.NewRequest(method, "http://"+gws[r].proxy+path, nil)
				req.Header.Set("X-Client-Id", app(r))
				resp, err := client.Do(req)
				if err != nil {
					t.Errorf("replica %d: %v", r, err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					mu.Lock()
					tally[r].calls++
					tally[r].credits += credits
					mu.Unlock()
				case http.StatusTooManyRequests:
					mu.Lock()
					refusals[fmt.Sprint(r, refusedBy(body), bulk)]++
					mu.Unlock()
					if refusedBy(body) == middleware.ByCredits && !bulk {
						dry[r].Store(true)
					}
				default:
					t.Errorf("replica %d: status %d: %s", r, resp.StatusCode, body)
					return
				}
			}
		})
	}
	wg.Wait()
	if !allDry() {
		t.Fatalf("the pool was not spent on every replica: admitted %+v, refused %v", tally, refusals)
	}
	return tally
}

// refusedBy returns a problem-details refusal's reason (its by member).
func refusedBy(body []byte) string {
	var p struct{ By string }
	_ = json.Unmarshal(body, &p)
	return p.By
}

// scrape reads a gateway's /metrics with the Prometheus text parser.
func scrape(t *testing.T, gw *gatewayProc) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + gw.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("metrics do not parse: %v", err)
	}
	return fams
}

// checkRedisMetrics checks that the replicas report the Redis store's
// errors and circuit, none of the memory store's metrics, and leased blocks
// of credits when leasing is on.
func checkRedisMetrics(t *testing.T, gws []*gatewayProc, leasing bool) {
	t.Helper()
	blocks := 0.0
	for _, gw := range gws {
		blocks += checkReplicaMetrics(t, gw)
	}
	if leasing != (blocks > 0) {
		t.Errorf("%v blocks of credits leased with leasing %v", blocks, leasing)
	}
}

// checkReplicaMetrics checks one replica's metrics and returns its count of
// leased blocks.
func checkReplicaMetrics(t *testing.T, gw *gatewayProc) float64 {
	t.Helper()
	fams := scrape(t, gw)
	one := func(name string) float64 {
		fam, ok := fams[name]
		if !ok || len(fam.Metric) != 1 {
			t.Fatalf("metric %s: %v", name, fam)
		}
		return fam.Metric[0].GetCounter().GetValue()
	}
	if v := one("creditgate_redis_errors_total"); v != 0 {
		t.Errorf("redis errors = %v on a healthy Redis", v)
	}
	if v := one("creditgate_redis_round_trips_total"); v == 0 {
		t.Error("no round trips counted")
	}
	states := map[string]float64{}
	for _, m := range fams["creditgate_redis_circuit"].GetMetric() {
		states[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
	}
	if states["closed"] != 1 || states["open"] != 0 || states["half-open"] != 0 {
		t.Errorf("circuit = %v, want closed", states)
	}
	if _, ok := fams["creditgate_store_bytes"]; ok {
		t.Error("the memory store's metrics are reported over Redis")
	}
	return one("creditgate_redis_blocks_total")
}
