package client

import (
	"sync"
	"testing"
	"unsafe"
)

// A striped counter counts every add, from any number of goroutines
// (stripe.Index's own test checks how it spreads them).
func TestStriped(t *testing.T) {
	var c striped
	const g, n = 64, 1000
	var wg sync.WaitGroup
	for range g {
		wg.Go(func() {
			for range n {
				c.Add(3)
				c.Add(-1)
			}
		})
	}
	wg.Wait()
	if got := c.Load(); got != g*n*2 {
		t.Fatalf("Load = %d, want %d", got, g*n*2)
	}
	c.reset()
	if got := c.Load(); got != 0 {
		t.Fatalf("after reset, Load = %d", got)
	}
	// Each stripe's word is alone on its cache line, wherever the counter
	// starts: 64 bytes from the start and from each other.
	for i := range c.s {
		off := unsafe.Offsetof(c.s) + uintptr(i)*unsafe.Sizeof(c.s[0])
		if off < 64 || unsafe.Sizeof(c)-off-8 < 56 {
			t.Fatalf("stripe %d at %d of %d bytes: not padded on both sides", i, off, unsafe.Sizeof(c))
		}
	}
}

// A count that goes up and down (a body opened on one stripe and closed on
// another: another goroutine, or the same one deeper in its stack) never
// reads negative, however the read interleaves (found by review: a plain
// striped count summed stripe by stripe read -4907 for a count that only
// ever held 0 or 1). Stripes are picked here rather than by stack, so that
// every round puts the +1 on the stripe read first and the -1 on the last.
func TestUpDownNeverNegative(t *testing.T) {
	var c upDown
	last := len(c.up.s) - 1
	stop := churn(func() {
		c.addAt(0, 1)     // opened
		c.addAt(last, -1) // closed
	})
	for range 200_000 {
		if v := c.Load(); v < 0 {
			stop()
			t.Fatalf("Load read %d on a count that is only ever 0 or 1", v)
		}
	}
	stop()
	if v := c.Load(); v != 0 {
		t.Fatalf("Load = %d once every body closed, want 0", v)
	}
}

// A count that only grows never reads lower than it read before.
func TestStripedLoadNeverGoesDown(t *testing.T) {
	var c striped
	last := len(c.s) - 1
	stop := churn(func() {
		c.addAt(last, 1)
		c.addAt(0, 1)
	})
	defer stop()
	prev := int64(0)
	for range 200_000 {
		v := c.Load()
		if v < prev {
			t.Fatalf("Load read %d after %d", v, prev)
		}
		prev = v
	}
}

// churn calls f on a goroutine of its own until the returned stop is
// called, which waits for it.
func churn(f func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			for range 1000 {
				f()
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
