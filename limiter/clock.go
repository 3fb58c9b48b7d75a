package limiter

import (
	"sync"
	"sync/atomic"
	"time"
)

// clockTick is the coarse clock's resolution. Windows count in slots of
// minutes and the headers in seconds, so a millisecond is far finer than any
// figure the clock feeds.
const clockTick = time.Millisecond

// clockIdleTicks is how many ticks without a reader stop the clock's goroutine.
const clockIdleTicks = 16

// coarseClock is the wall time as of the last tick, for hot paths where
// time.Now costs more than the decision it times: a virtualised clock source
// makes time.Now a 50 ns call here, and the clock read is one atomic load.
//
// A goroutine refreshes the reading every clockTick while the clock is read,
// and exits after clockIdleTicks ticks without a reader, so an idle process
// keeps no timer; the next reader starts it again (reading time.Now itself
// until the goroutine has stored a reading). A reading lags the wall clock
// by at most one tick plus the goroutine's scheduling delay.
type coarseClock struct {
	ns      atomic.Int64 // the last tick's reading, packed (see pack); 0 while no goroutine ticks
	running atomic.Bool  // a goroutine owns the ticking (or is about to)
	closed  atomic.Bool  // stop ticking for good
	stop    chan struct{}
	done    chan struct{} // closed once the clock is closed and no goroutine ticks
	doneOne sync.Once

	// read is set by readers and cleared by each tick; on its own cache
	// line, so that the readers' writes (at most one per tick each) do not
	// take the reading's line away from other cores.
	_    [64]byte
	read atomic.Bool
	_    [63]byte
}

func newCoarseClock() *coarseClock {
	return &coarseClock{stop: make(chan struct{}), done: make(chan struct{})}
}

// now returns the last tick's reading, or time.Now while no goroutine ticks.
func (c *coarseClock) now() time.Time {
	if ns := c.ns.Load(); ns != 0 {
		if !c.read.Load() {
			c.read.Store(true)
		}
		return time.Unix(ns>>nsBits, ns&(1<<nsBits-1))
	}
	return c.start()
}

// nsBits is how many low bits of a packed reading hold its nanoseconds.
const nsBits = 30 // 1e9 < 1<<30

// pack is a reading as its Unix seconds shifted left by nsBits and its
// nanoseconds in the low bits, so that a read splits it with a shift and a
// mask where time.Unix(0, ns) divides by 1e9 (most of a read's cost). The
// seconds keep 33 bits and a sign: times up to the year 2242, where the Unix
// nanoseconds the clock kept before ran out in 2262.
func pack(t time.Time) int64 { return t.Unix()<<nsBits | int64(t.Nanosecond()) }

// start starts the ticking goroutine unless one runs or the clock is closed.
func (c *coarseClock) start() time.Time {
	t := time.Now()
	if !c.closed.Load() && c.running.CompareAndSwap(false, true) {
		if c.closed.Load() { // Close ran between the two loads: do not start
			c.running.Store(false)
			c.signalDone()
			return t
		}
		c.read.Store(true)
		c.ns.Store(pack(t))
		go c.run()
	}
	return t
}

func (c *coarseClock) run() {
	tk := time.NewTicker(clockTick)
	defer tk.Stop()
	idle := 0
	for {
		select {
		case <-c.stop:
			c.ns.Store(0)
			c.running.Store(false)
			c.signalDone()
			return
		case <-tk.C:
		}
		c.ns.Store(pack(time.Now()))
		if c.read.Swap(false) {
			idle = 0
			continue
		}
		if idle++; idle < clockIdleTicks {
			continue
		}
		// Nobody read the clock for a while: readers go back to time.Now
		// (ns = 0) before the goroutine gives up the ticking, so that a
		// reader never sees a reading nobody refreshes.
		c.ns.Store(0)
		c.running.Store(false)
		if c.closed.Load() {
			c.signalDone()
		}
		return
	}
}

// signalDone closes done once, after close: whichever of Close and the
// goroutine sees the other finished does it.
func (c *coarseClock) signalDone() {
	if c.closed.Load() && !c.running.Load() {
		c.doneOne.Do(func() { close(c.done) })
	}
}

// close stops the ticking for good and returns a channel closed once no
// goroutine ticks. Readers afterwards read time.Now.
func (c *coarseClock) close() <-chan struct{} {
	if c.closed.CompareAndSwap(false, true) {
		close(c.stop)
	}
	c.signalDone()
	return c.done
}
