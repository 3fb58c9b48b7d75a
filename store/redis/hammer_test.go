package redis

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/creditgate/creditgate/store"
)

// Multi-process tests re-run this test binary as children (hammerEnv set):
// each child is one instance with its own store, hammering one tenant, and
// prints what it was admitted as JSON.
const hammerEnv = "CG_REDIS_HAMMER"

// hammerConf is a child's task, passed as JSON in hammerEnv.
type hammerConf struct {
	Addrs    []string      // one: a server; more: a cluster
	Prefix   string        // the stores' prefix (shared by the children)
	Tenant   string        // the tenant every child hammers
	Plan     store.Plan    // its plan
	Workers  int           // goroutines
	For      time.Duration // how long to hammer
	Hold     time.Duration // how long each admitted call holds its slots
	LeaseTTL time.Duration
	Block    int64 // credit leasing's largest block (0: off)
	Hang     bool  // take Plan.Concurrency slots, print "held", and wait to be killed
}

// interval is an admitted call's time holding its slots, in Unix ns:
// taken after Take returned, ended before Release.
type interval struct {
	Class      string
	Start, End int64
}

type hammerResult struct {
	Admitted, Credits int64
	Calls             []interval
	Stats             Stats
}

func hammerClient(addrs []string) goredis.UniversalClient {
	if len(addrs) > 1 {
		return goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs, ReadTimeout: time.Second,
			WriteTimeout: time.Second, ContextTimeoutEnabled: true, MaxRetries: -1})
	}
	return goredis.NewClient(&goredis.Options{Addr: addrs[0], ReadTimeout: time.Second,
		WriteTimeout: time.Second, ContextTimeoutEnabled: true, MaxRetries: -1})
}

// hammerMain is a child's main.
func hammerMain() int {
	var c hammerConf
	if err := json.Unmarshal([]byte(os.Getenv(hammerEnv)), &c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	rc := hammerClient(c.Addrs)
	defer rc.Close()
	s, err := New(rc, WithPrefix(c.Prefix), WithLeaseTTL(c.LeaseTTL), WithCreditLeasing(c.Block), WithTimeout(2*time.Second),
		WithReplayTTL(10*time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	pf := func(string) *store.Plan { return &c.Plan }
	if c.Hang {
		for range c.Plan.Concurrency {
			var l Lease
			var d store.Decision
			s.Take(time.Now(), &store.Request{Tenant: c.Tenant, App: "a", Credits: 1}, pf, &l, &d)
			if !d.Allowed {
				fmt.Fprintln(os.Stderr, "refused", d)
				return 2
			}
		}
		fmt.Println("held")
		select {} // renewing until killed
	}
	res := hammer(s, c, pf)
	_ = s.Close(context.Background())
	res.Stats = s.Stats()
	_ = json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

// hammer runs c's workers on s until c.For has passed.
func hammer(s *Store, c hammerConf, pf store.PlanFunc) hammerResult {
	var mu sync.Mutex
	var res hammerResult
	var wg sync.WaitGroup
	end := time.Now().Add(c.For)
	for g := range c.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []interval
			var credits int64
			for i := 0; time.Now().Before(end); i++ {
				class := ""
				if (i+g)%2 == 0 {
					class = "bulk"
				}
				var l Lease
				var d store.Decision
				s.Take(time.Now(), &store.Request{Tenant: c.Tenant, App: "a", Class: class, Credits: 1}, pf, &l, &d)
				if !d.Allowed {
					time.Sleep(time.Millisecond)
					continue
				}
				iv := interval{Class: class, Start: time.Now().UnixNano()}
				time.Sleep(c.Hold)
				iv.End = time.Now().UnixNano()
				s.Release(&l)
				mine = append(mine, iv)
				credits += d.Cost
			}
			mu.Lock()
			res.Calls = append(res.Calls, mine...)
			res.Admitted += int64(len(mine))
			res.Credits += credits
			mu.Unlock()
		}()
	}
	wg.Wait()
	return res
}

// runChildren starts n children of c and returns their results.
func runChildren(t *testing.T, n int, c hammerConf) []hammerResult {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	conf, _ := json.Marshal(c)
	outs := make([]hammerResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(exe, "-test.run=^$")
			cmd.Env = append(os.Environ(), hammerEnv+"="+string(conf))
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				errs[i] = fmt.Errorf("child %d: %v: %s", i, err, stderr.String())
				return
			}
			errs[i] = json.Unmarshal(out, &outs[i])
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return outs
}

// startHanging starts a child that holds slots until killed.
func startHanging(t *testing.T, c hammerConf) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c.Hang = true
	conf, _ := json.Marshal(c)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), hammerEnv+"="+string(conf))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "held" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("hanging child: %q %v", line, err)
	}
	return cmd
}

// peak is the most calls whose intervals overlap (of class, if not "").
func peak(calls []interval, class string) int {
	type ev struct {
		at    int64
		delta int
	}
	var evs []ev
	for _, c := range calls {
		if class == "" || c.Class == class {
			evs = append(evs, ev{c.Start, 1}, ev{c.End, -1})
		}
	}
	slices.SortFunc(evs, func(a, b ev) int {
		if a.at != b.at {
			return int(a.at - b.at)
		}
		return a.delta - b.delta // ends first: touching intervals do not overlap
	})
	n, most := 0, 0
	for _, e := range evs {
		n += e.delta
		most = max(most, n)
	}
	return most
}

// checkHammer checks the children's results against the pool and the caps,
// and that the pool in Redis counts what they were admitted.
func checkHammer(t *testing.T, s *Store, c hammerConf, outs []hammerResult) {
	t.Helper()
	var admitted, credits int64
	var calls []interval
	for _, o := range outs {
		admitted += o.Admitted
		credits += o.Credits
		calls = append(calls, o.Calls...)
	}
	if credits > c.Plan.Credits {
		t.Fatalf("admitted %d credits of a pool of %d", credits, c.Plan.Credits)
	}
	if p := peak(calls, ""); int64(p) > c.Plan.Concurrency {
		t.Fatalf("%d calls in flight at once, cap %d", p, c.Plan.Concurrency)
	}
	if p, lim := peak(calls, "bulk"), c.Plan.SubConcurrency["bulk"]; int64(p) > lim {
		t.Fatalf("%d bulk calls in flight at once, cap %d", p, lim)
	}
	pf := func(string) *store.Plan { return &c.Plan }
	d := s.Peek(time.Now(), c.Tenant, 0, pf)
	if d.Used != credits {
		t.Fatalf("the pool counts %d used, the children were admitted %d", d.Used, credits)
	}
	t.Logf("%d processes: %d calls admitted (%d credits of %d), peak %d/%d in flight (bulk %d/%d)",
		len(outs), admitted, credits, c.Plan.Credits, peak(calls, ""), c.Plan.Concurrency,
		peak(calls, "bulk"), c.Plan.SubConcurrency["bulk"])
}

func hammerPlan() store.Plan {
	return store.Plan{Name: "hammer", Credits: 400, Window: time.Hour, Concurrency: 4,
		SubConcurrency: map[string]int64{"bulk": 2}}
}

// Three processes hammer one tenant: never more than the pool in total,
// never more in flight than the caps, and every credit admitted counted.
func TestProcessesShareOnePool(t *testing.T) {
	for _, block := range []int64{0, 32} {
		t.Run("block="+strconv.FormatInt(block, 10), func(t *testing.T) {
			s := newStore(t, client(t, shared.addr()))
			c := hammerConf{Addrs: []string{shared.addr()}, Prefix: s.cfg.prefix, Tenant: "org{1}", Plan: hammerPlan(),
				Workers: 6, For: 1500 * time.Millisecond, Hold: 500 * time.Microsecond, LeaseTTL: 3 * time.Second, Block: block}
			outs := runChildren(t, 3, c)
			checkHammer(t, s, c, outs)
			var total int64
			for _, o := range outs {
				total += o.Credits
			}
			if total != c.Plan.Credits {
				t.Fatalf("%d credits admitted in all, want the whole pool of %d", total, c.Plan.Credits)
			}
		})
	}
}

// The same hammer on a three-node cluster: the tenant's keys share one
// slot, whatever bytes its name holds.
func TestClusterProcessesShareOnePool(t *testing.T) {
	cl, err := startCluster()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.stop()
	rc := hammerClient(cl.addrs())
	defer rc.Close()
	s := newStore(t, rc)
	c := hammerConf{Addrs: cl.addrs(), Prefix: s.cfg.prefix, Tenant: "}{ org\x00", Plan: hammerPlan(),
		Workers: 6, For: 1500 * time.Millisecond, Hold: 500 * time.Microsecond, LeaseTTL: 3 * time.Second}
	outs := runChildren(t, 3, c)
	checkHammer(t, s, c, outs)
	if !slices.Contains(slices.Collect(s.Tenants()), c.Tenant) {
		t.Fatalf("Tenants() misses %q", c.Tenant)
	}
}

// A holder killed while holding every slot: its slots come back once its
// leases expire, not before.
func TestKilledHolderSlotsComeBack(t *testing.T) {
	s := newStore(t, client(t, shared.addr()), WithLeaseTTL(time.Second))
	p := hammerPlan()
	c := hammerConf{Addrs: []string{shared.addr()}, Prefix: s.cfg.prefix, Tenant: "killed", Plan: p, LeaseTTL: time.Second}
	cmd := startHanging(t, c)
	pf := func(string) *store.Plan { return &p }
	take := func() store.Decision {
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "killed", App: "a", Credits: 1}, pf, &l, &d)
		if d.Allowed {
			s.Release(&l)
		}
		return d
	}
	time.Sleep(1500 * time.Millisecond) // past one lease length: the child renews
	if d := take(); d.Reason != store.ReasonConcurrency {
		t.Fatalf("slots held by a live holder: %+v", d)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	killed := time.Now()
	for take().Reason == store.ReasonConcurrency {
		if time.Since(killed) > 5*time.Second {
			t.Fatal("the killed holder's slots never came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("slots back %v after the kill (lease TTL 1s)", time.Since(killed).Round(10*time.Millisecond))
}
