package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
	cgclient "github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/store"
)

// The client Transport over this store makes its pool, its integrations'
// quotas and reserves and its concurrency caps fleet-wide (issue #16 item
// 8): two processes, each with its own Transport over its own Store on one
// Redis, call one fake API.
const fleetEnv = "CG_REDIS_FLEET"

type fleetConf struct {
	Addr, Prefix, URL string
	For               time.Duration
}

func fleetPlan() store.Plan {
	return store.Plan{Name: "fleet", Credits: 300, Window: time.Hour, Concurrency: 4,
		SubConcurrency: map[string]int64{"bulk": 2}}
}

func fleetCosts() (*cost.Table, error) {
	return cost.NewTable(1,
		cost.Route{Pattern: "GET /crm/{module}", Cost: 1},
		cost.Route{Pattern: "POST /crm/bulk/read", Cost: 5, Class: "bulk"})
}

// fleetIntegrations: the export may spend 40 % of the pool, the web forms
// keep 20 % that nobody else may touch.
func fleetIntegrations() []cgclient.Integration {
	return []cgclient.Integration{{Name: "export", Quota: 40}, {Name: "sync"}, {Name: "forms", Reserve: 20, Priority: 1}}
}

// fleetMain is a child's main: a Transport over a Redis store calling the
// parent's API from three integrations until c.For has passed.
func fleetMain() int {
	var c fleetConf
	if err := json.Unmarshal([]byte(os.Getenv(fleetEnv)), &c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	rc := hammerClient([]string{c.Addr})
	defer rc.Close()
	s, err := New(rc, WithPrefix(c.Prefix), WithTimeout(2*time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer s.Close(context.Background())
	l, err := limiter.New(fleetPlan(), limiter.WithStore(s))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer l.Close(context.Background())
	costs, _ := fleetCosts()
	tr, err := cgclient.New(http.DefaultTransport, cgclient.WithLimiter(l), cgclient.WithCosts(costs),
		cgclient.WithTenant("acct"), cgclient.WithIntegrations(fleetIntegrations()...))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer tr.Close(context.Background())
	hc := &http.Client{Transport: tr}
	var wg sync.WaitGroup
	end := time.Now().Add(c.For)
	start := time.Now()
	for _, it := range []struct {
		name, method, path string
		workers            int
		after              time.Duration // so that the export meets its quota before the pool runs out
	}{
		// The export alone could spend the pool in a tenth of a second.
		{"export", "POST", "/crm/bulk/read", 4, 0}, {"sync", "GET", "/crm/Leads", 1, c.For / 3},
		{"forms", "GET", "/crm/Contacts", 1, c.For / 3},
	} {
		for range it.workers {
			wg.Go(func() {
				time.Sleep(time.Until(start.Add(it.after)))
				for time.Now().Before(end) {
					ctx, cancel := context.WithDeadline(cgclient.WithFailFast(cgclient.WithIntegration(context.Background(), it.name)), end)
					req, _ := http.NewRequestWithContext(ctx, it.method, c.URL+it.path, nil)
					req.Header.Set("X-Integration", it.name)
					if resp, err := hc.Do(req); err == nil {
						resp.Body.Close()
					} else {
						time.Sleep(2 * time.Millisecond) // refused by the governor: try again shortly
					}
					cancel()
				}
			})
		}
	}
	wg.Wait()
	return 0
}

func TestTransportFleet(t *testing.T) {
	costs := map[string]int64{"/crm/bulk/read": 5, "/crm/Leads": 1, "/crm/Contacts": 1}
	var inFlight, peak, bulk, bulkPeak atomic.Int64
	var mu sync.Mutex
	spent := map[string]int64{}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raise := func(cur, top *atomic.Int64) {
			n := cur.Add(1)
			for p := top.Load(); n > p && !top.CompareAndSwap(p, n); p = top.Load() {
			}
		}
		raise(&inFlight, &peak)
		defer inFlight.Add(-1)
		if strings.HasPrefix(r.URL.Path, "/crm/bulk") {
			raise(&bulk, &bulkPeak)
			defer bulk.Add(-1)
		}
		time.Sleep(3 * time.Millisecond)
		mu.Lock()
		spent[r.Header.Get("X-Integration")] += costs[r.URL.Path]
		mu.Unlock()
	}))
	defer api.Close()
	conf, _ := json.Marshal(fleetConf{Addr: shared.addr(), Prefix: fmt.Sprintf("fleet%d:", time.Now().UnixNano()),
		URL: api.URL, For: 1500 * time.Millisecond})
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() {
			cmd := exec.Command(exe, "-test.run=^$")
			cmd.Env = append(os.Environ(), fleetEnv+"="+string(conf))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("child %d: %v: %s", i, err, out)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	p := fleetPlan()
	total := spent["export"] + spent["sync"] + spent["forms"]
	t.Logf("spent %v (total %d of %d), peak in flight %d, bulk %d", spent, total, p.Credits, peak.Load(), bulkPeak.Load())
	if peak.Load() > p.Concurrency || bulkPeak.Load() > p.SubConcurrency["bulk"] {
		t.Errorf("in flight at the API: %d (cap %d), bulk %d (cap %d)", peak.Load(), p.Concurrency,
			bulkPeak.Load(), p.SubConcurrency["bulk"])
	}
	if total > p.Credits {
		t.Errorf("the two processes spent %d of a pool of %d", total, p.Credits)
	}
	if spent["export"] > p.Credits*40/100 {
		t.Errorf("the export spent %d, above its quota of %d", spent["export"], p.Credits*40/100)
	}
	if others := spent["export"] + spent["sync"]; others > p.Credits*80/100 {
		t.Errorf("the others spent %d, into the forms' reserve (at most %d)", others, p.Credits*80/100)
	}
	if spent["export"] < p.Credits*40/100-5 || spent["sync"] == 0 || spent["forms"] < p.Credits*20/100 {
		t.Errorf("the load did not reach the limits it checks: %v", spent)
	}
}
