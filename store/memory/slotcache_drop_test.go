package memory

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/internal/slots"
	"github.com/creditgate/creditgate/internal/stripe"
	"github.com/creditgate/creditgate/store"
)

// framed calls f below a frame of 9 KiB: on a goroutine whose stack has
// grown past it, f runs in another 8 KiB block of the stack than its
// caller, so mostly on another stripe (see stripe.Index).
//
//go:noinline
func framed(f func() int) int {
	var buf [9 << 10]byte
	i := f()
	buf[i%len(buf)] = byte(i)
	return int(buf[(i*7)%len(buf)])
}

// A full application table drops only idle applications: with the first
// application's call in flight, a new application is refused, however its
// slots move through the cache meanwhile. Here a goroutine takes a cached
// slot on one stripe and gives it back on another, over and over, as a take
// that sees the drop check's mark backs off (its take and its release run
// at different depths of its stack, which may be different stripes). The
// drop check read the slots in use as held less Cached, and Cached, a scan
// of the stripes, counts a slot that moves from a stripe it read to one it
// has not read yet twice: the first application read idle with a call in
// flight and was dropped, and the application could then hold one call
// more than its concurrency.
func TestSlotCacheFirstAppDroppedInFlight(t *testing.T) {
	const conc = 3
	plan := &store.Plan{Name: "p", Credits: 1 << 40, Window: time.Hour, Concurrency: conc}
	plans := func(string) *store.Plan { return plan }
	s := New(WithSlotCache(), WithMaxApps(1))
	take := func(app string, l *Lease) store.Decision {
		var d store.Decision
		s.Take(foldT0, &store.Request{Tenant: "t", App: app}, plans, l, &d)
		return d
	}
	var z Lease // the first application's call in flight throughout
	if d := take("a", &z); !d.Allowed {
		t.Fatalf("a refused: %+v", d)
	}
	tn := s.lookup("t")
	c, p := tn.cache(), &tn.slots0
	var stop atomic.Bool
	var moved atomic.Int64
	done := make(chan [2]int)
	go func() {
		framed(func() int { return 0 }) // the stack grows once, here
		at := [2]int{stripe.Index(), framed(func() int { return stripe.Index() })}
		for !stop.Load() {
			if ok, _ := c.TryAcquire(p, slots.PairA); !ok {
				continue
			}
			framed(func() int {
				c.Release(p, slots.PairA) // given back below: another stripe
				c.TryAcquire(p, slots.PairA)
				return 0
			})
			c.Release(p, slots.PairA)
			moved.Add(1)
		}
		done <- at
	}()
	halt := sync.OnceFunc(func() {
		stop.Store(true)
		<-done
	})
	defer halt()
	deadline := time.Now().Add(1500 * time.Millisecond) // it failed within half a second, with -race too
	for i := 0; time.Now().Before(deadline); i++ {
		var l Lease
		d := take("b", &l)
		if !d.Allowed {
			continue
		}
		// a was dropped with z in flight: a comes back with all its slots.
		s.Release(&l)
		n := 0
		for range conc {
			var la Lease
			if take("a", &la).Allowed {
				n++
			}
		}
		t.Fatalf("after %d tries (%d moves): the first application, with a call in flight, was dropped for another; then %d more of its calls were admitted beside it under a concurrency of %d", i, moved.Load(), n, conc)
	}
	halt()
	if moved.Load() == 0 {
		t.Fatal("no slot moved: the test checked nothing")
	}
	// Idle, its slots cached, the first application is dropped for another.
	s.Release(&z)
	var l Lease
	if d := take("b", &l); !d.Allowed {
		t.Fatalf("b refused with the first application idle (its slots cached): %+v", d)
	}
	s.Release(&l)
}
