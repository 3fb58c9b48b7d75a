package limiter

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// The coarse clock's readings are never ahead of time.Now, never run
// backwards for one reader while the wall clock does not, come within a few
// ticks of time.Now, and the goroutine comes and goes with readers. How
// close every reading is depends on the scheduler (a loaded machine can keep
// the ticker off its cores for many ticks), so the test asks for fresh
// readings again and again, for up to a second, rather than a share of them.
func TestCoarseClockTracksWallClock(t *testing.T) {
	c := newCoarseClock()
	defer func() { <-c.close() }()
	var last time.Time
	fresh := 0
	deadline := time.Now().Add(time.Second)
	for fresh < 20 && time.Now().Before(deadline) {
		before := time.Now()
		got := c.now()
		after := time.Now()
		if got.After(after) {
			t.Fatalf("reading %v is after time.Now %v", got, after)
		}
		if before.Sub(got) <= 5*clockTick {
			fresh++
		}
		if got.Before(last) {
			t.Fatalf("reading went back from %v to %v", last, got)
		}
		last = got
		time.Sleep(clockTick / 2) // a reader does other work between readings
	}
	if fresh < 20 {
		t.Fatalf("%d readings within %v of time.Now in a second", fresh, 5*clockTick)
	}
	if c.ns.Load() == 0 {
		t.Fatal("no goroutine ticks while the clock is being read")
	}
}

func TestCoarseClockAdvances(t *testing.T) {
	c := newCoarseClock()
	defer func() { <-c.close() }()
	first := c.now()
	deadline := time.Now().Add(5 * time.Second)
	for !c.now().After(first) {
		if time.Now().After(deadline) {
			t.Fatal("the reading did not advance in 5 s")
		}
		time.Sleep(clockTick / 4)
	}
}

func TestCoarseClockStopsWhenIdleAndRestarts(t *testing.T) {
	c := newCoarseClock()
	defer func() { <-c.close() }()
	c.now()
	if !c.running.Load() {
		t.Fatal("first read did not start the ticker")
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.running.Load() {
		if time.Now().After(deadline) {
			t.Fatal("ticker still running 5 s after the last read")
		}
		time.Sleep(clockTick)
	}
	if c.ns.Load() != 0 {
		t.Fatal("an idle clock kept a reading nobody refreshes")
	}
	before := time.Now()
	if got := c.now(); got.Before(before.Add(-time.Millisecond)) {
		t.Fatalf("read after idle returned a stale %v (now %v)", got, before)
	}
	if !c.running.Load() {
		t.Fatal("read after idle did not restart the ticker")
	}
}

func TestCoarseClockClose(t *testing.T) {
	c := newCoarseClock()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				c.now()
			}
		})
	}
	done := c.close()
	wg.Wait()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("close did not stop the ticker")
	}
	if c.running.Load() || c.ns.Load() != 0 {
		t.Fatal("ticker state left after close")
	}
	before := time.Now()
	if got := c.now(); got.Before(before) || c.running.Load() {
		t.Fatalf("read after close: %v (want time.Now, %v), running %v", got, before, c.running.Load())
	}
	<-c.close() // idempotent
}

func TestLimiterNowAndClose(t *testing.T) {
	l, err := New(Plan{Name: "p", Credits: 10, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	tk, d := l.Acquire(l.Now(), Request{Tenant: "t", Credits: 1})
	if !d.Allowed {
		t.Fatal(d)
	}
	tk.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if l.clock.running.Load() {
		t.Fatal("Close left the clock ticking")
	}
}

func BenchmarkClock(b *testing.B) {
	b.Run("coarse", func(b *testing.B) {
		c := newCoarseClock()
		defer func() { <-c.close() }()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = c.now()
			}
		})
	})
	b.Run("time.Now", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = time.Now()
			}
		})
	})
}

// TestCloseExpiredContext: Close with a context already done (or that ends
// while the clock stops) still stops the alert deliverer; it only gives up
// waiting. It stopped it half the time: select picked ctx.Done over the
// stopped clock before the alerter was told to stop, leaking its goroutine.
func TestCloseExpiredContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 20 {
		l, err := New(Plan{Name: "p", Credits: 10, Concurrency: 1}, WithAlerts(nil, func(Alert) {}))
		if err != nil {
			t.Fatal(err)
		}
		_ = l.Close(ctx) // nil or ctx.Err(): either way, stopping has begun
		select {
		case <-l.alerts.done:
		case <-time.After(5 * time.Second):
			_ = l.Close(context.Background())
			t.Fatalf("Close %d with a done context left the alert deliverer running", i)
		}
	}
}

// A packed reading reads back as the time.Unix(0, UnixNano) the clock
// returned before it packed its readings: the same time.Time, field for
// field, over the years a wall clock reads and at the nanoseconds' edges.
func TestClockPackReadsBack(t *testing.T) {
	unpack := func(p int64) time.Time { return time.Unix(p>>nsBits, p&(1<<nsBits-1)) }
	r := rand.New(rand.NewPCG(1, 2))
	lo, hi := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(), time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	edges := []int64{1, 999_999_999, 1_000_000_000, 1_000_000_001, time.Date(2026, 12, 5, 12, 0, 0, 999_999_999, time.UTC).UnixNano()}
	for i := range 200_000 {
		ns := lo + r.Int64N(hi-lo)
		if i < len(edges) {
			ns = edges[i]
		}
		want := time.Unix(0, ns)
		if got := unpack(pack(want)); got != want {
			t.Fatalf("ns %d: packed reads back as %v (%#v), want %v (%#v)", ns, got, got, want, want)
		}
	}
}
