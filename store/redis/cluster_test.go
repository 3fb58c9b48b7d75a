package redis

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
	goredis "github.com/redis/go-redis/v9"
)

// clusterStore starts a three-node cluster and returns a store on it.
func clusterStore(t *testing.T, opts ...Option) (*cluster, *goredis.ClusterClient, *Store) {
	t.Helper()
	cl, err := startCluster()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.stop)
	rc := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: cl.addrs(), ReadTimeout: time.Second,
		WriteTimeout: time.Second, ContextTimeoutEnabled: true, MaxRetries: -1})
	t.Cleanup(func() { rc.Close() })
	return cl, rc, newStore(t, rc, opts...)
}

// Odd names on a cluster: every step of each tenant runs (no CROSSSLOT),
// and each counts on its own pool.
func TestClusterOddNames(t *testing.T) {
	_, _, s := clusterStore(t)
	p := store.Plan{Credits: 10, Window: time.Minute, Concurrency: 2,
		SubConcurrency: map[string]int64{"c": 1}}
	pf := func(string) *store.Plan { return &p }
	long := string(make([]byte, 5000))
	for _, name := range []string{"", "{", "}", "{}", "}{", "a{}b", "\xff\xfe", long} {
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: name, App: name, Class: "c", Credits: 3}, pf, &l, &d)
		if !d.Allowed || d.Remaining != 7 {
			t.Fatalf("tenant %.10q: take %+v, err %v", name, d, s.Stats())
		}
		if d := s.Settle(time.Now(), &l, -1, false); d.Remaining != 8 {
			t.Fatalf("tenant %.10q: settle %+v", name, d)
		}
		s.Release(&l)
		if d := s.Charge(time.Now(), name, 1, pf); !d.Allowed || d.Remaining != 7 {
			t.Fatalf("tenant %.10q: charge %+v", name, d)
		}
		if d := s.Peek(time.Now(), name, 1, pf); d.Remaining != 7 {
			t.Fatalf("tenant %.10q: peek %+v", name, d)
		}
	}
	if !slices.Contains(slices.Collect(s.Tenants()), "") {
		t.Fatal("Tenants() misses the empty name")
	}
	if st := s.Stats(); st.Errors != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// A prefix with braces would set the hash tag itself: "{}" makes Redis
// hash each key whole (the steps' keys span slots: CROSSSLOT), "{cg}"
// puts every tenant in one slot. Such a store either is refused or runs
// its steps with each tenant in a slot of its own.
func TestClusterPrefixBraces(t *testing.T) {
	_, rc, _ := clusterStore(t)
	p := store.Plan{Credits: 10, Window: time.Minute, Concurrency: 2}
	pf := func(string) *store.Plan { return &p }
	for _, prefix := range []string{"cg{}:", "{cg}:"} {
		s, err := New(rc, WithPrefix(prefix))
		if err != nil {
			continue
		}
		defer s.Close(context.Background())
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "a", App: "x", Credits: 1}, pf, &l, &d)
		if !d.Allowed {
			t.Fatalf("prefix %q: take %+v", prefix, d)
		}
		s.Release(&l)
		a := rc.ClusterKeySlot(context.Background(), windowKey(s, "a")).Val()
		b := rc.ClusterKeySlot(context.Background(), windowKey(s, "b")).Val()
		if a == b {
			t.Fatalf("prefix %q: tenants a and b share slot %d", prefix, a)
		}
	}
}

// migrate moves slot from its owner to another node key by key (CLUSTER
// SETSLOT MIGRATING/IMPORTING, MIGRATE, SETSLOT NODE), pausing between
// keys so that steps run while the tenant's keys are on both nodes.
func migrate(t *testing.T, cl *cluster, slot int64, pause time.Duration) {
	ctx := context.Background()
	var cs []*goredis.Client
	var ids []string
	src := -1
	for i, n := range cl.nodes {
		c := goredis.NewClient(&goredis.Options{Addr: n.addr()})
		defer c.Close()
		cs = append(cs, c)
		ids = append(ids, c.Do(ctx, "CLUSTER", "MYID").Val().(string))
		if n, _ := c.ClusterCountKeysInSlot(ctx, int(slot)).Result(); n > 0 {
			src = i
		}
	}
	if src < 0 {
		t.Fatal("no node holds the slot's keys")
	}
	dst := (src + 1) % len(cs)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(cs[dst].Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", ids[src]).Err())
	must(cs[src].Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", ids[dst]).Err())
	for {
		keys, err := cs[src].ClusterGetKeysInSlot(ctx, int(slot), 100).Result()
		must(err)
		if len(keys) == 0 {
			break
		}
		for _, k := range keys { // the replay records first: the tenant's own keys last, one by one
			if strings.Contains(k, ":r:") {
				must(cs[src].Migrate(ctx, "127.0.0.1", strconv.Itoa(cl.nodes[dst].port), k, 0, 5*time.Second).Err())
			}
		}
		for _, k := range keys {
			if !strings.Contains(k, ":r:") {
				must(cs[src].Migrate(ctx, "127.0.0.1", strconv.Itoa(cl.nodes[dst].port), k, 0, 5*time.Second).Err())
				time.Sleep(pause)
			}
		}
	}
	for _, c := range cs {
		must(c.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", ids[dst]).Err())
	}
}

// The tenant's slot moves to another node while workers take, settle and
// charge: each step counts once (the pool's use is what was admitted),
// none is lost or run twice, and none fails.
func TestClusterSlotMigration(t *testing.T) {
	// The slot stays split (some of the tenant's keys on each node, so its
	// steps get TRYAGAIN) for a 100 ms pause after each key moved: about
	// half a second, the default timeout's length, after which a step still
	// waiting is unavailable, rightly counted as an error (1 run in 5). A
	// timeout of 2 s keeps the test to what it checks: TRYAGAIN and ASK
	// within a step's deadline are no error.
	cl, rc, s := clusterStore(t, WithLeaseTTL(300*time.Millisecond), WithTimeout(2*time.Second)) // reconciles every 100 ms
	p := store.Plan{Credits: 1_000_000, Window: time.Hour, Concurrency: 4, SubConcurrency: map[string]int64{"c": 2}}
	pf := func(string) *store.Plan { return &p }
	const tenant = "moving"
	var l Lease
	var d store.Decision
	s.Take(time.Now(), &store.Request{Tenant: tenant, App: "a", Class: "c", Credits: 1}, pf, &l, &d)
	if !d.Allowed {
		t.Fatalf("%+v", d)
	}
	s.Release(&l)
	slot := rc.ClusterKeySlot(context.Background(), windowKey(s, tenant)).Val()
	var admitted atomic.Int64
	admitted.Add(1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var l Lease
				var d store.Decision
				if w == 0 {
					admitted.Add(s.Charge(time.Now(), tenant, 2, pf).Cost) // booked later if Redis did not answer
					time.Sleep(time.Millisecond)
					continue
				}
				s.Take(time.Now(), &store.Request{Tenant: tenant, App: "a", Class: "c", Credits: 3}, pf, &l, &d)
				if !d.Allowed {
					time.Sleep(time.Millisecond)
					continue
				}
				admitted.Add(3)
				admitted.Add(s.Settle(time.Now(), &l, -1, false).Cost) // 0: no refund while Redis did not answer
				s.Release(&l)
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	migrate(t, cl, slot, 100*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if d = s.Peek(time.Now(), tenant, 0, pf); d.Used == admitted.Load() {
			break // the charges made while Redis did not answer are booked
		}
	}
	st := s.Stats()
	t.Logf("admitted %d, used %d, stats %+v", admitted.Load(), d.Used, st)
	if d.Used != admitted.Load() {
		t.Fatalf("pool used %d, %d admitted", d.Used, admitted.Load())
	}
	// TRYAGAIN and ASK say the step did not run, for a moment: they are
	// no outage, and an open breaker refused every tenant's calls
	if st.Errors != 0 || st.BreakerOpens != 0 {
		t.Fatalf("a slot migration counted as Redis failing: %+v", st)
	}
}

// Tenants() on every primary of a cluster, under a prefix with the glob
// characters of SCAN's MATCH: it finds the store's tenants, only them.
func TestClusterTenantsGlobPrefix(t *testing.T) {
	_, rc, _ := clusterStore(t)
	p := store.Plan{Credits: 10, Window: time.Minute}
	pf := func(string) *store.Plan { return &p }
	for _, prefix := range []string{"cg[1]:", "cg*?\\:"} {
		s, err := New(rc, WithPrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close(context.Background())
		var want []string
		for i := range 20 {
			name := prefix + strconv.Itoa(i)
			want = append(want, name)
			if d := s.Charge(time.Now(), name, 1, pf); !d.Allowed || d.Remaining != 9 {
				t.Fatalf("%+v", d)
			}
		}
		got := slices.Sorted(s.Tenants())
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("prefix %q: Tenants() = %q, want %q", prefix, got, want)
		}
	}
}
