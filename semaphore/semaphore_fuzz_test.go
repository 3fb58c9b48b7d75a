package semaphore

import (
	"context"
	"fmt"
	"testing"
)

// fuzzWaiter is a queued Acquire in the reference model.
type fuzzWaiter struct {
	n      int64
	cancel context.CancelFunc
	res    <-chan error
}

// refModel is the trivially correct semaphore: a capacity, a held count and
// a FIFO queue served strictly in order.
type refModel struct {
	capacity, held int64
	queue          []fuzzWaiter
}

// serve grants the head of the queue while it fits and returns who got it.
func (m *refModel) serve() []fuzzWaiter {
	var got []fuzzWaiter
	for len(m.queue) > 0 && m.capacity-m.held >= m.queue[0].n {
		m.held += m.queue[0].n
		got = append(got, m.queue[0])
		m.queue = m.queue[1:]
	}
	return got
}

// FuzzWeighted runs a byte string of operations (TryAcquire, Release,
// SetCapacity, Acquire that may queue, cancellation of a queued waiter,
// Acquire with a dead context) against the semaphore and the reference
// model, and compares held weight, capacity, queue length and every result.
func FuzzWeighted(f *testing.F) {
	f.Add([]byte{0, 2, 0, 2, 1, 1, 0, 3})
	f.Add([]byte{3, 4, 3, 2, 3, 1, 1, 4, 1, 2})
	f.Add([]byte{0, 4, 3, 3, 3, 0, 4, 0, 1, 3, 1, 0})
	f.Add([]byte{0, 4, 3, 3, 2, 1, 2, 7, 1, 4, 5, 1})
	f.Add([]byte{2, 7, 3, 6, 3, 1, 2, 2, 1, 0, 4, 1, 2, 9})
	f.Add([]byte{1, 3, 0, 5, 0, 0, 4, 0, 2, 0, 3, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 256 {
			ops = ops[:256]
		}
		s := NewWeighted(4)
		m := &refModel{capacity: 4}
		expectGranted := func(ws []fuzzWaiter, want error) {
			for _, w := range ws {
				if err := <-w.res; err != want {
					t.Fatalf("woken waiter got %v, want %v", err, want)
				}
				w.cancel()
			}
		}
		defer func() { // leave no goroutine behind
			for _, w := range m.queue {
				w.cancel()
				<-w.res
			}
		}()
		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i]%6, int64(ops[i+1])
			switch op {
			case 0:
				n := arg%6 - 1
				want := n == 0 || n > 0 && len(m.queue) == 0 && m.capacity-m.held >= n
				if got := s.TryAcquire(n); got != want {
					t.Fatalf("op %d: TryAcquire(%d) = %v, want %v (model %+v)", i, n, got, want, *m)
				}
				if want && n > 0 {
					m.held += n
				}
			case 1:
				n := arg%5 + 1
				if n > m.held {
					if !panics(func() { s.Release(n) }) {
						t.Fatalf("op %d: Release(%d) with %d held did not panic", i, n, m.held)
					}
					break
				}
				s.Release(n)
				m.held -= n
				expectGranted(m.serve(), nil)
			case 2:
				c := arg % 8
				s.SetCapacity(c)
				m.capacity = c
				var keep, tooLarge []fuzzWaiter
				for _, w := range m.queue {
					if w.n > c {
						tooLarge = append(tooLarge, w)
					} else {
						keep = append(keep, w)
					}
				}
				m.queue = keep
				expectGranted(tooLarge, ErrTooLarge)
				expectGranted(m.serve(), nil)
			case 3:
				n := arg%5 + 1
				switch {
				case n > m.capacity:
					if err := s.Acquire(context.Background(), n); err != ErrTooLarge {
						t.Fatalf("op %d: Acquire(%d) over capacity = %v", i, n, err)
					}
				case len(m.queue) == 0 && m.capacity-m.held >= n:
					if err := s.Acquire(context.Background(), n); err != nil {
						t.Fatalf("op %d: Acquire(%d) = %v", i, n, err)
					}
					m.held += n
				case len(m.queue) < 8:
					ctx, cancel := context.WithCancel(context.Background())
					m.queue = append(m.queue, fuzzWaiter{n: n, cancel: cancel, res: acquireAsync(ctx, s, n)})
					waitQueued(t, s, len(m.queue))
				}
			case 4:
				if len(m.queue) == 0 {
					break
				}
				k := int(arg) % len(m.queue)
				w := m.queue[k]
				w.cancel()
				if err := <-w.res; err != context.Canceled {
					t.Fatalf("op %d: cancelled waiter got %v", i, err)
				}
				m.queue = append(m.queue[:k:k], m.queue[k+1:]...)
				expectGranted(m.serve(), nil)
			case 5:
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				if err := s.Acquire(ctx, arg%5+1); err != context.Canceled {
					t.Fatalf("op %d: Acquire with done ctx = %v", i, err)
				}
			}
			if err := check(s, m); err != nil {
				t.Fatalf("after op %d (%d %d): %v", i, op, arg, err)
			}
		}
	})
}

func check(s *Weighted, m *refModel) error {
	if got := s.Held(); got != m.held {
		return fmt.Errorf("Held() = %d, model %d", got, m.held)
	}
	if got := s.Capacity(); got != m.capacity {
		return fmt.Errorf("Capacity() = %d, model %d", got, m.capacity)
	}
	if got := s.Waiters(); got != len(m.queue) {
		return fmt.Errorf("Waiters() = %d, model %d", got, len(m.queue))
	}
	return nil
}

func panics(f func()) (did bool) {
	defer func() { did = recover() != nil }()
	f()
	return false
}
