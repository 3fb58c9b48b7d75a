package semaphore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/creditgate/creditgate/internal/spin"
)

// Errors returned by Acquire. Acquire returns ctx.Err() unchanged when the
// context ends first.
var (
	// ErrTooLarge: the weight asked for exceeds the capacity, so waiting could
	// never succeed (x/sync/semaphore would block until the context ends instead).
	// A queued waiter also gets it when SetCapacity lowers the capacity below its
	// weight.
	ErrTooLarge = errors.New("semaphore: weight exceeds capacity")
	// ErrNegative: a negative weight was asked for.
	ErrNegative = errors.New("semaphore: negative weight")
	// ErrEvicted: the semaphore was retired by its Group because it was idle;
	// look the key up again (Group.Acquire does so itself).
	ErrEvicted = errors.New("semaphore: evicted from its group")
)

// MaxCapacity is the largest capacity a Weighted can hold; larger values are
// clamped to it. It is 2^52-1 because the state word packs the available
// weight (which may be negative after a capacity cut) with flag bits.
const MaxCapacity = 1<<52 - 1

const (
	errReleasedMore = "semaphore: released more than held"
	errNegRelease   = "semaphore: negative weight released"
)

// Layout of the state word: avail<<availShift | gen<<genShift | flags.
// avail = capacity - held and is signed (it goes negative when SetCapacity
// cuts the capacity below what is held).
const (
	// flagWaiters: the wait queue is not empty, so the fast paths step aside
	// (TryAcquire refuses, Release takes the mutex to hand the weight on).
	// Only set and cleared under mu.
	flagWaiters = 1 << 0
	// flagBusy: SetCapacity is between storing the new capacity and adjusting
	// avail, so Release must not check against capacity without the mutex.
	flagBusy = 1 << 1
	// flagDead: retired by a Group; every acquire is refused.
	flagDead = 1 << 2

	flagMask   = flagWaiters | flagBusy | flagDead
	genShift   = 3
	genBits    = 8
	genMask    = (1<<genBits - 1) << genShift
	availShift = genShift + genBits
)

// Weighted is a weighted semaphore of run-time adjustable capacity: the sum of
// the weights held never exceeds the capacity at the time they were taken.
//
// TryAcquire and Release are lock-free while nobody waits: one atomic word
// holds the available weight and a "waiters present" bit, and a single CAS
// takes or returns weight. A call whose CAS loses to another core's waits
// about a microsecond before it tries again (Release tries once more at
// once first), as a mutex spins before it parks, so that cores hammering
// one semaphore take turns in runs rather than trading its cache line at
// every step. Acquire queues in strict FIFO order behind a mutex
// when the weight is not available. The policy is the one of
// x/sync/semaphore: a large waiter at the head of the queue blocks smaller
// ones behind it even when they would fit, so readers cannot starve a writer
// that needs the whole capacity; and while anyone is queued TryAcquire
// refuses, so the non-blocking path never overtakes a waiter either.
//
// The waiting path is written here rather than taken from x/sync/semaphore
// because both paths must share one state word: x/sync keeps its count and
// queue under its mutex, so a lock-free TryAcquire beside it could neither
// see the queue nor keep the count exact.
//
// The zero value has capacity 0 and refuses every positive weight (Acquire
// returns ErrTooLarge) until SetCapacity raises it. A Weighted must not be
// copied after first use. All methods are safe for concurrent use.
type Weighted struct {
	state atomic.Int64 // avail, gen and flags; see the layout above
	cap   atomic.Int64 // written only under mu, with flagBusy set in state
	mu    sync.Mutex   // protects head, tail, the waiters' fields and cap writes
	head  *waiter
	tail  *waiter
}

// NewWeighted returns a semaphore of the given capacity. A negative capacity
// is treated as 0 and one above MaxCapacity as MaxCapacity (no panic: a
// capacity usually comes from configuration, and 0 simply refuses).
func NewWeighted(capacity int64) *Weighted {
	s := &Weighted{}
	c := clampCapacity(capacity)
	s.cap.Store(c)
	s.state.Store(c << availShift)
	return s
}

func clampCapacity(c int64) int64 {
	return min(max(c, 0), MaxCapacity)
}

func avail(state int64) int64 { return state >> availShift }

// TryAcquire takes weight n without blocking and reports whether it did. It
// refuses when n is not available, and also when anyone is queued in Acquire
// (it never overtakes a waiter). TryAcquire(0) is true, a negative n is false.
// It is lock-free and does not allocate.
func (s *Weighted) TryAcquire(n int64) bool {
	if n <= 0 {
		return n == 0
	}
	for {
		old := s.state.Load()
		if old&(flagWaiters|flagDead) != 0 || avail(old) < n {
			return false
		}
		// flagBusy may be set: the CAS keeps it, and SetCapacity adjusts
		// avail with a CAS loop of its own, so this take is ordered before it.
		if testHooks && casHook != nil {
			casHook()
		}
		if s.state.CompareAndSwap(old, old-n<<availShift) {
			return true
		}
		backoff()
	}
}

type tryResult uint8

const (
	tryRefused tryResult = iota
	tryOK
	tryDead
)

func (s *Weighted) tryAcquire(n int64) tryResult {
	for {
		old := s.state.Load()
		if old&flagDead != 0 {
			return tryDead
		}
		// One test for n <= 0 and a refusal, so that tryAcquire stays
		// small enough to inline into Group.TryAcquire.
		if n <= 0 || old&flagWaiters != 0 || avail(old) < n {
			if n == 0 {
				return tryOK
			}
			return tryRefused
		}
		if testHooks && casHook != nil {
			casHook()
		}
		if s.state.CompareAndSwap(old, old-n<<availShift) {
			return tryOK
		}
		backoff()
	}
}

// Release returns weight n. It panics with "semaphore: released more than
// held" if that would make the held weight negative, as x/sync/semaphore
// does: it is a programmer error that would otherwise invent capacity.
// Release(0) does nothing; a negative n panics. Release wakes queued waiters
// in order as far as the freed weight reaches; with nobody queued it is a
// single lock-free CAS.
func (s *Weighted) Release(n int64) {
	// The common case first: nobody queued, no capacity change under way,
	// and n fits. uint64(n-1) < MaxCapacity is 0 < n <= MaxCapacity,
	// which also keeps avail+n from overflowing.
	old := s.state.Load()
	if uint64(n-1) < MaxCapacity && old&flagMask == 0 && avail(old)+n <= s.cap.Load() &&
		s.state.CompareAndSwap(old, old+n<<availShift) {
		return
	}
	s.release(n)
}

func (s *Weighted) release(n int64) {
	if n <= 0 {
		if n < 0 {
			panic(errNegRelease)
		}
		return
	}
	if n > MaxCapacity {
		panic(errReleasedMore)
	}
	for {
		old := s.state.Load()
		if old&flagMask != 0 {
			break
		}
		c := s.cap.Load()
		if avail(old)+n > c {
			// c is consistent with old only if the state has not moved:
			// SetCapacity sets flagBusy before it stores cap and bumps gen
			// when done, so an unchanged word means an unchanged capacity.
			if s.state.Load() == old {
				panic(errReleasedMore)
			}
			continue
		}
		if testHooks && casHook != nil {
			casHook()
		}
		if s.state.CompareAndSwap(old, old+n<<availShift) {
			return
		}
		backoff()
	}
	s.releaseSlow(n)
}

func (s *Weighted) releaseSlow(n int64) {
	s.mu.Lock()
	c := s.cap.Load() // stable: cap is written only under mu
	for {
		old := s.state.Load()
		if old&flagDead != 0 || avail(old)+n > c {
			s.mu.Unlock()
			panic(errReleasedMore)
		}
		if s.state.CompareAndSwap(old, old+n<<availShift) {
			break
		}
	}
	s.notifyLocked()
	s.mu.Unlock()
}

// Acquire takes weight n, waiting in FIFO order until it is available or ctx
// is done. On failure nothing is held: it returns ctx.Err() unchanged if the
// context ended first (also if it ended before the call, and if the weight
// was granted while the context was ending: the grant is then passed on to the
// waiters behind, go.dev/issue/63615), ErrTooLarge at once
// if n exceeds the capacity, and ErrNegative for n < 0. Acquire(ctx, 0)
// returns nil at once. A waiter whose context ends is removed from the queue
// and the waiters behind it are reconsidered, so it never blocks them.
func (s *Weighted) Acquire(ctx context.Context, n int64) error {
	if n <= 0 {
		if n == 0 {
			return nil
		}
		return ErrNegative
	}
	done := ctx.Done()
	if done != nil {
		select {
		case <-done:
			return ctx.Err()
		default:
		}
	}
	for {
		old := s.state.Load()
		if old&(flagWaiters|flagDead) != 0 || avail(old) < n {
			break
		}
		if testHooks && casHook != nil {
			casHook()
		}
		if s.state.CompareAndSwap(old, old-n<<availShift) {
			return nil
		}
		backoff()
	}
	return s.acquireSlow(ctx, done, n)
}

// Capacity returns the current capacity.
func (s *Weighted) Capacity() int64 { return s.cap.Load() }

// Held returns the weight currently held. It may exceed Capacity for a while
// after SetCapacity lowered it.
func (s *Weighted) Held() int64 {
	for range 4 {
		s1 := s.state.Load()
		if s1&flagBusy != 0 {
			break
		}
		c := s.cap.Load()
		s2 := s.state.Load()
		// Same generation and not busy: no capacity change in between.
		if s2&(genMask|flagBusy) == s1&genMask {
			return c - avail(s2)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cap.Load() - avail(s.state.Load())
}

// SetCapacity changes the capacity at run time. What is held stays held:
// raising the capacity wakes the waiters that now fit; lowering it below the
// held weight makes acquires wait (or refuse) until releases bring the held
// weight under the new capacity. Waiters whose weight exceeds the new
// capacity get ErrTooLarge. c is clamped to [0, MaxCapacity].
func (s *Weighted) SetCapacity(c int64) {
	c = clampCapacity(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	d := c - s.cap.Load()
	if d == 0 {
		return
	}
	s.updateState(func(old int64) int64 { return old | flagBusy })
	s.cap.Store(c)
	s.updateState(func(old int64) int64 {
		gen := (old&genMask + 1<<genShift) & genMask
		return (old+d<<availShift)&^(genMask|flagBusy) | gen
	})
	if d < 0 {
		for w := s.head; w != nil; {
			next := w.next
			if w.n > c {
				s.removeLocked(w)
				s.wakeLocked(w, ErrTooLarge)
			}
			w = next
		}
	}
	s.notifyLocked()
}

// backoff is spin.Backoff, after a lost compare-and-swap on the state word,
// with its test hook.
func backoff() {
	if testHooks && backoffHook != nil {
		backoffHook()
	}
	spin.Backoff()
}

// Test-only hooks (nil otherwise; they run only when built with -tags
// creditgate_testhooks, see testHooks): casHook runs in the lock-free loops
// of TryAcquire, tryAcquire, Acquire and release between loading the state
// and swapping it, where another caller's change makes the swap fail;
// backoffHook runs when backoff is called.
var casHook, backoffHook func()

// updateState applies f to the state word with a CAS loop.
func (s *Weighted) updateState(f func(int64) int64) {
	for {
		old := s.state.Load()
		if s.state.CompareAndSwap(old, f(old)) {
			return
		}
	}
}

// retire marks an idle semaphore dead so that a Group can drop it: a racing
// TryAcquire either took weight first (and retire fails) or sees the dead flag
// and looks the key up again, so two live semaphores never share a key.
func (s *Weighted) retire() bool {
	if st := s.state.Load(); st&flagMask != 0 || avail(st) != s.cap.Load() {
		return false // busy: no need to take the lock to know
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.head != nil {
		return false
	}
	old := s.state.Load()
	if old&flagMask != 0 || avail(old) != s.cap.Load() {
		return false
	}
	return s.state.CompareAndSwap(old, old|flagDead)
}
