package semaphore

import (
	"context"
	"sync"
)

// waiter is one queued Acquire. Its fields other than ready are guarded by the
// semaphore's mu. Waiters are pooled, and ready is buffered so that a wake-up
// is a send that never blocks and the channel can be reused: the slow path
// allocates nothing in the steady state.
type waiter struct {
	n          int64
	ready      chan struct{} // receives one value when woken
	woken      bool          // ready has been sent to; set with err under mu
	err        error         // nil: weight n was granted; else why it was not
	prev, next *waiter
}

// Test hooks that force the cancel-vs-grant races; nil outside tests.
var (
	// testHookQueued runs after a waiter is queued and before it waits, so a
	// test can make both the grant and ctx.Done() ready before it selects.
	testHookQueued func()
	// testHookCancelled runs after a waiter saw its context end and before it
	// takes the lock.
	testHookCancelled func()
)

var waiterPool = sync.Pool{New: func() any { return &waiter{ready: make(chan struct{}, 1)} }}

func getWaiter(n int64) *waiter {
	w := waiterPool.Get().(*waiter)
	w.n = n
	return w
}

func putWaiter(w *waiter) {
	w.woken, w.err, w.prev, w.next = false, nil, nil, nil
	waiterPool.Put(w)
}

func (s *Weighted) acquireSlow(ctx context.Context, done <-chan struct{}, n int64) error {
	s.mu.Lock()
	if s.state.Load()&flagDead != 0 {
		s.mu.Unlock()
		return ErrEvicted
	}
	if n > s.cap.Load() {
		// Don't queue a request that can never be met: it would block
		// everybody behind it until its context ends.
		s.mu.Unlock()
		return ErrTooLarge
	}
	if s.head == nil {
		// Nobody queued: either take n now, or raise flagWaiters in the same
		// CAS so that no fast path can slip in between the check and the queue.
		for {
			old := s.state.Load()
			if avail(old) >= n {
				if s.state.CompareAndSwap(old, old-n<<availShift) {
					s.mu.Unlock()
					return nil
				}
				continue
			}
			if s.state.CompareAndSwap(old, old|flagWaiters) {
				break
			}
		}
	}
	w := getWaiter(n)
	s.pushLocked(w)
	s.mu.Unlock()
	if testHookQueued != nil {
		testHookQueued()
	}
	return s.wait(ctx, done, w)
}

// wait blocks until w is woken or ctx is done, and returns w to the pool.
func (s *Weighted) wait(ctx context.Context, done <-chan struct{}, w *waiter) error {
	select {
	case <-w.ready:
		err := w.err
		n := w.n
		putWaiter(w)
		select {
		case <-done:
			// Both were ready and select chose the grant at random
			// (go.dev/issue/63615): the context ended first as far as the
			// caller can tell, so keep the promise of ctx.Err() and pass the
			// weight on as if we had never been served.
			if err == nil {
				s.Release(n)
			}
			return ctx.Err()
		default:
			return err
		}
	case <-done:
	}
	if testHookCancelled != nil {
		testHookCancelled()
	}

	s.mu.Lock()
	if w.woken {
		// Cancel-vs-grant race: the grant (or an ErrTooLarge wake-up) came
		// after the context ended but before we took the lock. Give the weight
		// back and hand it to the next waiters, as if we had never been served.
		<-w.ready
		if w.err == nil {
			s.updateState(func(old int64) int64 { return old + w.n<<availShift })
		}
	} else {
		s.removeLocked(w)
	}
	// Whether we were at the head or gave weight back, the waiters behind
	// may fit now; a cancelled waiter must not keep blocking them.
	s.notifyLocked()
	s.mu.Unlock()
	putWaiter(w)
	return ctx.Err()
}

// notifyLocked grants weight to the waiters at the head of the queue, in
// order, as far as the available weight reaches. It stops at the first waiter
// that does not fit even if a smaller one behind it would: letting small
// requests overtake would starve a large one forever under steady load.
func (s *Weighted) notifyLocked() {
	for w := s.head; w != nil; w = s.head {
		for {
			old := s.state.Load()
			if avail(old) < w.n {
				return
			}
			if s.state.CompareAndSwap(old, old-w.n<<availShift) {
				break
			}
		}
		s.removeLocked(w)
		s.wakeLocked(w, nil)
	}
}

func (s *Weighted) wakeLocked(w *waiter, err error) {
	w.woken = true
	w.err = err
	w.ready <- struct{}{}
}

func (s *Weighted) pushLocked(w *waiter) {
	w.prev = s.tail
	if s.tail == nil {
		s.head = w
	} else {
		s.tail.next = w
	}
	s.tail = w
}

// removeLocked unlinks w and, once the queue is empty, clears flagWaiters so
// that the lock-free paths resume.
func (s *Weighted) removeLocked(w *waiter) {
	if w.prev == nil {
		s.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		s.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.prev, w.next = nil, nil
	if s.head == nil {
		s.updateState(func(old int64) int64 { return old &^ flagWaiters })
	}
}

// Waiters returns how many Acquire calls are queued.
func (s *Weighted) Waiters() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := 0
	for w := s.head; w != nil; w = w.next {
		k++
	}
	return k
}
