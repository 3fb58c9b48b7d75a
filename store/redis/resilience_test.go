package redis

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// spend has workers take one credit at a time from tenant until stop is
// closed, and returns how many credits were admitted.
func spend(s *Store, tenant string, p *store.Plan, workers int, stop <-chan struct{}) int64 {
	var admitted atomic.Int64
	var wg sync.WaitGroup
	pf := func(string) *store.Plan { return p }
	for range workers {
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
				s.Take(time.Now(), &store.Request{Tenant: tenant, App: "a", Credits: 1}, pf, &l, &d)
				if d.Allowed {
					admitted.Add(d.Cost)
					s.Release(&l)
				} else {
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	return admitted.Load()
}

func after(d time.Duration, fn func()) <-chan struct{} {
	stop := make(chan struct{})
	go func() {
		time.Sleep(d)
		if fn != nil {
			fn()
		}
		close(stop)
	}()
	return stop
}

// Redis restarts mid-run (kill -9; it reads its append-only file back, its
// script cache empty): the store reloads the script, and the pool is
// never over-admitted.
func TestRedisRestartMidRun(t *testing.T) {
	srv, err := startServer(0, "--appendonly", "yes", "--appendfsync", "always")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.remove()
	s := newStore(t, client(t, srv.addr()), WithBreaker(3, 100*time.Millisecond))
	p := store.Plan{Credits: 300, Window: time.Hour, Concurrency: 64}
	restarted := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		restarted <- srv.restart()
	}()
	admitted := spend(s, "r", &p, 4, after(2*time.Second, nil))
	if err := <-restarted; err != nil {
		t.Fatal(err)
	}
	d := s.Peek(time.Now(), "r", 0, func(string) *store.Plan { return &p })
	st := s.Stats()
	t.Logf("admitted %d of %d; pool used %d; %+v", admitted, p.Credits, d.Used, st)
	if admitted > p.Credits || d.Used < admitted {
		t.Fatalf("admitted %d of a pool of %d; the pool counts %d", admitted, p.Credits, d.Used)
	}
	if st.Reloads == 0 {
		t.Fatalf("no script reload after the restart: %+v", st)
	}
}

// SCRIPT FLUSH mid-run: every NOSCRIPT reloads, and the figures stay exact.
func TestScriptFlushMidRun(t *testing.T) {
	c := client(t, shared.addr())
	s := newStore(t, c)
	p := store.Plan{Credits: 500, Window: time.Hour, Concurrency: 64}
	stop := after(1500*time.Millisecond, nil)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				c.ScriptFlush(context.Background())
			}
		}
	}()
	admitted := spend(s, "f", &p, 4, stop)
	d := s.Peek(time.Now(), "f", 0, func(string) *store.Plan { return &p })
	if st := s.Stats(); st.Reloads == 0 || st.Errors != 0 {
		t.Fatalf("reloads %d, errors %d", st.Reloads, st.Errors)
	}
	if admitted != p.Credits || d.Used != admitted {
		t.Fatalf("admitted %d of %d; the pool counts %d", admitted, p.Credits, d.Used)
	}
}

// proxy forwards a TCP connection to a server; armed, it swallows the next
// reply and cuts the connection: the step ran, the caller cannot know.
type proxy struct {
	l    net.Listener
	to   string
	drop atomic.Int64
	wg   sync.WaitGroup
}

func newProxy(t *testing.T, to string) *proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, to: to}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { l.Close(); p.wg.Wait() })
	return p
}

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.to)
		if err != nil {
			c.Close()
			continue
		}
		p.wg.Add(2)
		go func() { defer p.wg.Done(); io.Copy(s, c); s.Close() }()
		go func() { defer p.wg.Done(); p.replies(c, s); c.Close() }()
	}
}

func (p *proxy) replies(c, s net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := s.Read(buf)
		if err != nil {
			return
		}
		if p.drop.Load() > 0 && p.drop.Add(-1) >= 0 {
			s.Close()
			return // reply swallowed, connection cut
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

// Replies lost after the step ran: the store replays the step with its id
// and gets the recorded result; nothing counts twice.
func TestAmbiguousErrorsChargeOnce(t *testing.T) {
	px := newProxy(t, shared.addr())
	c := client(t, px.l.Addr().String())
	s := newStore(t, c, WithTimeout(3*time.Second))
	p := store.Plan{Credits: 1000, Window: time.Hour, Concurrency: 4}
	pf := func(string) *store.Plan { return &p }
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	var spent int64
	for i := range 40 {
		if i%4 == 0 {
			px.drop.Store(1)
		}
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "amb", App: "a", Credits: 2}, pf, &l, &d)
		if !d.Allowed {
			t.Fatalf("take %d: %+v", i, d)
		}
		spent += 2
		if i%8 == 0 {
			px.drop.Store(1)
			if sd := s.Settle(time.Now(), &l, 3, true); sd.Cost != 3 {
				t.Fatalf("settle: %+v", sd)
			}
			spent += 3
		}
		s.Release(&l)
		if i%10 == 0 {
			px.drop.Store(1)
			if cd := s.Charge(time.Now(), "amb", 1, pf); cd.Cost != 1 {
				t.Fatalf("charge: %+v", cd)
			}
			spent++
		}
	}
	st := s.Stats()
	d := s.Peek(time.Now(), "amb", 0, pf)
	t.Logf("spent %d, pool used %d, %d replays", spent, d.Used, st.Replays)
	if d.Used != spent || st.Replays < 10 || st.Errors != 0 {
		t.Fatalf("spent %d, the pool counts %d; %+v", spent, d.Used, st)
	}
}

// A take whose replies are all lost may have run and held its slot; the
// store gives that slot back (a release of an id no one else uses is
// harmless if it did not run) instead of leaving it held until its lease
// expires, with no one to renew or release it.
func TestFailedTakeGivesItsSlotBack(t *testing.T) {
	px := newProxy(t, shared.addr())
	c := client(t, px.l.Addr().String())
	s := newStore(t, c, WithTimeout(3*time.Second))
	p := store.Plan{Credits: 1000, Window: time.Hour, Concurrency: 1}
	pf := func(string) *store.Plan { return &p }
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	s.Peek(time.Now(), "other", 0, pf) // the script is loaded: the take runs
	var l Lease
	var d store.Decision
	px.drop.Store(100) // every reply of the take and its replays
	s.Take(time.Now(), &store.Request{Tenant: "lost", App: "a", Credits: 1}, pf, &l, &d)
	px.drop.Store(0)
	if d.Allowed || d.Reason != store.ReasonUnavailable {
		t.Fatalf("the take with no reply: %+v", d)
	}
	s.Take(time.Now(), &store.Request{Tenant: "lost", App: "a", Credits: 1}, pf, &l, &d)
	if !d.Allowed {
		t.Fatalf("the slot of the take with no reply is still held: %+v", d)
	}
	s.Release(&l)
}
