package semaphore

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// qWaiter is one Acquire of the queue model, running on its own goroutine.
type qWaiter struct {
	n      int64
	cancel context.CancelFunc
	res    chan error
}

// TestQueueModel drives a Weighted one step at a time with TryAcquire,
// Acquire (which may wait), Release, SetCapacity (down below what is held
// and up) and cancellations of queued waiters, against a model of the
// documented policy: a FIFO queue served from its head as far as the free
// weight reaches, TryAcquire refused while anyone waits, ErrTooLarge at once
// for a weight above the capacity and for queued waiters a lowered capacity
// leaves too large. After each step exactly the waiters the model served
// have returned, with the model's error, and Held and Waiters agree.
func TestQueueModel(t *testing.T) {
	for seed := range uint64(60) {
		rng := rand.New(rand.NewPCG(seed, 54))
		capacity := rng.Int64N(6)
		s := NewWeighted(capacity)
		var held int64
		var queue []*qWaiter
		var holds []int64 // weights held, as granted
		expect := func(w *qWaiter, want error, step int) {
			t.Helper()
			select {
			case err := <-w.res:
				if !errors.Is(err, want) && err != want {
					t.Fatalf("seed %d step %d: waiter of %d returned %v, want %v", seed, step, w.n, err, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("seed %d step %d: waiter of %d never returned (want %v)", seed, step, w.n, want)
			}
		}
		// serve grants the head of the queue as far as the free weight reaches.
		serve := func(step int) {
			for len(queue) > 0 && capacity-held >= queue[0].n {
				w := queue[0]
				queue = queue[1:]
				held += w.n
				holds = append(holds, w.n)
				expect(w, nil, step)
			}
		}
		for step := range 300 {
			switch op := rng.IntN(10); {
			case op < 2:
				n := rng.Int64N(5)
				want := n == 0 || len(queue) == 0 && capacity-held >= n
				if got := s.TryAcquire(n); got != want {
					t.Fatalf("seed %d step %d: TryAcquire(%d) = %v with %d/%d held and %d queued, want %v", seed, step, n, got, held, capacity, len(queue), want)
				}
				if want && n > 0 {
					held += n
					holds = append(holds, n)
				}
			case op < 5:
				n := 1 + rng.Int64N(4)
				ctx, cancel := context.WithCancel(context.Background())
				w := &qWaiter{n: n, cancel: cancel, res: make(chan error, 1)}
				go func() { w.res <- s.Acquire(ctx, n) }()
				switch {
				case n > capacity:
					expect(w, ErrTooLarge, step)
					cancel()
				case len(queue) == 0 && capacity-held >= n:
					expect(w, nil, step)
					cancel()
					held += n
					holds = append(holds, n)
				default:
					queue = append(queue, w)
					deadline := time.Now().Add(5 * time.Second)
					for s.Waiters() != len(queue) {
						if time.Now().After(deadline) {
							t.Fatalf("seed %d step %d: %d waiters, want %d", seed, step, s.Waiters(), len(queue))
						}
						runtime.Gosched()
					}
				}
			case op < 8 && len(holds) > 0:
				i := rng.IntN(len(holds))
				n := holds[i]
				holds = append(holds[:i], holds[i+1:]...)
				s.Release(n)
				held -= n
				serve(step)
			case op < 9:
				c := rng.Int64N(7)
				old := capacity
				s.SetCapacity(c)
				capacity = c
				if c < old {
					var keep []*qWaiter
					for _, w := range queue {
						if w.n > c {
							expect(w, ErrTooLarge, step)
							w.cancel()
						} else {
							keep = append(keep, w)
						}
					}
					queue = keep
				}
				serve(step)
			default:
				if len(queue) == 0 {
					break
				}
				i := rng.IntN(len(queue))
				w := queue[i]
				queue = append(queue[:i:i], queue[i+1:]...)
				w.cancel()
				expect(w, context.Canceled, step)
				serve(step)
			}
			if h := s.Held(); h != held {
				t.Fatalf("seed %d step %d: Held %d, model %d (capacity %d)", seed, step, h, held, capacity)
			}
			if q := s.Waiters(); q != len(queue) {
				t.Fatalf("seed %d step %d: %d waiters, model %d", seed, step, q, len(queue))
			}
		}
		for _, w := range queue {
			w.cancel()
			<-w.res // granted or cancelled: either way it ends
		}
		for _, n := range holds {
			s.Release(n)
		}
	}
}
