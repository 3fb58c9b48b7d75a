package redis

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// The tests run against real redis-server processes they start themselves
// on loopback: one shared server, more for the tests that stop or restart
// theirs, and a three-node cluster.
var shared *server

func TestMain(m *testing.M) {
	if os.Getenv(hammerEnv) != "" { // a child process of a multi-process test
		os.Exit(hammerMain())
	}
	if os.Getenv(fleetEnv) != "" { // a child of TestTransportFleet
		os.Exit(fleetMain())
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		fmt.Fprintln(os.Stderr, "store/redis: redis-server is not installed: run `bash scripts/test.sh` "+
			"(it installs redis-server and redis-tools)")
		os.Exit(1)
	}
	goredis.SetLogger(quiet{}) // the outage tests' dial errors are expected
	var err error
	if shared, err = startServer(0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	shared.remove()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// server is one redis-server on 127.0.0.1.
type server struct {
	port int
	dir  string
	args []string
	cmd  *exec.Cmd
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startServer starts a redis-server on port (a free one if 0), with no
// persistence.
func startServer(port int, extra ...string) (*server, error) {
	if port == 0 {
		var err error
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "cg-redis-*")
	if err != nil {
		return nil, err
	}
	s := &server{port: port, dir: dir}
	s.args = append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--protected-mode", "no"}, extra...)
	return s, s.start()
}

func (s *server) start() error {
	s.cmd = exec.Command("redis-server", s.args...)
	s.cmd.Stdout, s.cmd.Stderr = nil, nil
	// killed with the test process, also when a test panics past TestMain
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("redis-server: %w", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c := goredis.NewClient(&goredis.Options{Addr: s.addr(), MaxRetries: -1})
		err := c.Ping(context.Background()).Err()
		c.Close()
		if err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.stop()
	return fmt.Errorf("redis-server on port %d did not start", s.port)
}

func (s *server) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// stop kills the server and waits for it.
func (s *server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// remove stops the server and deletes its directory.
func (s *server) remove() {
	s.stop()
	os.RemoveAll(s.dir)
}

// client returns a client of addr with short timeouts, closed after t.
func client(t testing.TB, addr string) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: addr, ReadTimeout: 300 * time.Millisecond,
		WriteTimeout: 300 * time.Millisecond, DialTimeout: 300 * time.Millisecond, ContextTimeoutEnabled: true,
		MaxRetries: -1, PoolSize: 16})
	t.Cleanup(func() { c.Close() })
	return c
}

var prefixes = 0

// newStore returns a store on c under a prefix of its own, closed after t.
func newStore(t testing.TB, c goredis.UniversalClient, opts ...Option) *Store {
	t.Helper()
	prefixes++
	name := strings.NewReplacer("/", ".", " ", "_").Replace(t.Name())
	opts = append([]Option{WithPrefix(fmt.Sprintf("t%d.%s.%d:", os.Getpid(), name, prefixes))}, opts...)
	s, err := New(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return s
}

// cluster is three redis-server nodes in cluster mode, all slots assigned.
type cluster struct{ nodes []*server }

func startCluster() (*cluster, error) {
	cl := &cluster{}
	var addrs []string
	for range 3 {
		s, err := startServer(0, "--cluster-enabled", "yes", "--cluster-node-timeout", "2000")
		if err != nil {
			cl.stop()
			return nil, err
		}
		// cluster-config-file in the server's own directory
		cl.nodes = append(cl.nodes, s)
		addrs = append(addrs, s.addr())
	}
	out, err := exec.Command("redis-cli", append(append([]string{"--cluster", "create"}, addrs...),
		"--cluster-replicas", "0", "--cluster-yes")...).CombinedOutput()
	if err != nil {
		cl.stop()
		return nil, fmt.Errorf("redis-cli --cluster create: %v: %s", err, out)
	}
	// every node, not one: a node that had not yet seen all slots
	// answered CLUSTERDOWN to the first steps routed to it
	up := func() bool {
		for _, a := range addrs {
			c := goredis.NewClient(&goredis.Options{Addr: a})
			info, err := c.ClusterInfo(context.Background()).Result()
			c.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if up() {
			return cl, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	cl.stop()
	return nil, fmt.Errorf("cluster did not come up")
}

func (cl *cluster) addrs() []string {
	var a []string
	for _, s := range cl.nodes {
		a = append(a, s.addr())
	}
	return a
}

func (cl *cluster) stop() {
	for _, s := range cl.nodes {
		s.remove()
	}
}

// restart kills the server and starts it again on the same port and
// directory (an append-only file, if it has one, is read back).
func (s *server) restart() error {
	s.stop()
	return s.start()
}

// windowKey is the key of tenant's window in s, without caching (and so
// pinning) the tenant as s.tenants.get would.
func windowKey(s *Store, tenant string) string { return newTenant(s.cfg.prefix, tenant).kw }
