package redis

import (
	"context"
	"slices"
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
		a := rc.ClusterKeySlot(context.Background(), s.tenants.get(time.Now(), "a").kw).Val()
		b := rc.ClusterKeySlot(context.Background(), s.tenants.get(time.Now(), "b").kw).Val()
		if a == b {
			t.Fatalf("prefix %q: tenants a and b share slot %d", prefix, a)
		}
	}
}
