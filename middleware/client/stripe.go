package client

import (
	"math"
	"sync/atomic"

	"github.com/creditgate/creditgate/internal/stripe"
)

// stripeBits sets how many stripes a striped counter has.
const stripeBits = stripe.Bits

// striped is a counter that every call writes and that only grows between
// resets (calls, the retry budget's first attempts). One word that two
// cores both add to moves between them on every call; striped spreads the
// count over stripes on cache lines of their own, one picked by the calling
// goroutine's stack, so that calls on different cores mostly add to
// different lines. Load sums the stripes one by one: racing adds, it reads
// a value between the counts at the start and at the end of the read, so
// successive Loads never go down. A count that also goes down is an upDown:
// summed stripe by stripe it could read a -1 without its +1.
//
// Go cannot align a field to a cache line, so the stripes are 64 bytes
// apart after 64 bytes of padding: each stripe's word shares its line with
// padding only, wherever the counter starts.
type striped struct {
	_ [64]byte
	s [1 << stripeBits]struct {
		v atomic.Int64
		_ [56]byte
	}
}

// Add adds n >= 0.
func (c *striped) Add(n int64) { c.addAt(stripe.Index(), n) }

func (c *striped) addAt(i int, n int64) { c.s[i].v.Add(n) }

// addSat adds n >= 0, saturating at math.MaxInt64, for a count fed by what
// servers say (credits spent by others): a CAS loop on the first stripe
// alone, so that the sum Load reads cannot wrap either. Such counts are
// added to rarely, off the admission path, and never with Add.
func (c *striped) addSat(n int64) { addSat(&c.s[0].v, n, math.MaxInt64) }

// addSat adds n >= 0 to v, which stays in [0, bound]: a CAS loop, for
// counts fed by what servers say.
func addSat(v *atomic.Int64, n, bound int64) {
	for {
		old := v.Load()
		if v.CompareAndSwap(old, old+min(n, bound-old)) {
			return
		}
	}
}

func (c *striped) Load() int64 {
	var sum int64
	for i := range c.s {
		sum += c.s[i].v.Load()
	}
	return sum
}

// reset sets the count to 0; not atomic with respect to concurrent adds, as
// a reset of a counter never is.
func (c *striped) reset() {
	for i := range c.s {
		c.s[i].v.Store(0)
	}
}

// upDown is a striped count that goes both ways (credits charged then
// refunded): what was added and what was taken away are counted apart, each
// only growing.
type upDown struct{ up, down striped }

func (c *upDown) Add(n int64) { c.addAt(stripe.Index(), n) }

func (c *upDown) addAt(i int, n int64) {
	if n >= 0 {
		c.up.addAt(i, n)
	} else {
		c.down.addAt(i, -n)
	}
}

// Load reads what was taken away first, then what was added: it is never
// below a value the count held during the read (so never negative for a
// count that never is), and above it by at most what was taken away while
// it read.
func (c *upDown) Load() int64 {
	d := c.down.Load()
	return c.up.Load() - d
}
