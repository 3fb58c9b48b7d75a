package slots

import "sync/atomic"

// Slots is a counting semaphore that never waits: TryAcquire and Release
// only, in 16 bytes. It is for slots kept beside other hot state: the
// limiter puts a tenant's first application's and first API class's slots
// on the cache line that its credit window writes on every admission, so
// that on two cores an admission moves one line between them, not three.
// semaphore.Weighted is the one to use when callers wait (40 bytes, with a
// FIFO queue).
//
// Slots counts what is held, not what is free, so a capacity change never
// blurs the count. SetCapacity applies to later acquires; weight held beyond
// a lowered capacity stays held until released, and nothing new is admitted
// until it is back under the cap.
//
// TryAcquire adds its weight and takes it back if it does not fit, so for
// an instant the count includes weight that is not held: Held may then read
// high, and a concurrent TryAcquire may be refused although, without the
// other's attempt, it would have fitted. Both only happen with the count
// within a weight of the capacity, and never let more than the capacity be
// held. Counting that never shows an attempt would cost a second fetch of
// the word on every acquire (see TryAcquire).
//
// The zero value has capacity 0 and refuses every positive weight. A Slots
// must not be copied after first use. All methods are safe for concurrent
// use; TryAcquire and Release take no lock.
type Slots struct {
	held atomic.Int64
	cap  atomic.Int64 // at most MaxCapacity
}

// NewSlots returns Slots of the given capacity (clamped to 0..MaxCapacity).
func NewSlots(capacity int64) *Slots {
	s := &Slots{}
	s.SetCapacity(capacity)
	return s
}

// TryAcquire takes weight n if it fits under the capacity, without
// waiting, and reports whether it did. TryAcquire(0) is true; a negative n
// is refused.
func (s *Slots) TryAcquire(n int64) bool {
	if n <= 0 {
		return n == 0
	}
	if n > MaxCapacity {
		return false
	}
	// Add first, then look: one atomic add fetches the word once, for
	// writing, where a load and a compare-and-swap fetched it to read and
	// again to write; on two cores sharing a tenant that took an admission
	// from 114 to 87 ns. An add that does not fit is taken back. h > 0 also
	// refuses what an overflow would wrap (it would take thousands of
	// goroutines adding MaxCapacity at once).
	if h := s.held.Add(n); h > 0 && h <= s.cap.Load() {
		return true
	}
	s.held.Add(-n)
	return false
}

// Release returns weight n. It panics with "slots: released more than
// held" if that would make the held weight negative (the release is undone
// first), and on a negative n; Release(0) does nothing. It is one atomic
// add: when another core holds the word, the add fetches it once, for
// writing, where a load and a compare-and-swap would fetch it twice.
func (s *Slots) Release(n int64) {
	if n <= 0 || s.held.Add(-n) < 0 {
		s.released(n)
	}
}

// released is Release's rare case: n <= 0, which added nothing, or a
// release of more than held, which is undone before the panic.
//
//go:noinline
func (s *Slots) released(n int64) {
	switch {
	case n < 0:
		panic(errNegRelease)
	case n == 0:
	default:
		s.held.Add(n)
		panic(errReleasedMore)
	}
}

// Held returns the weight held now (with, for an instant, the weight of a
// TryAcquire about to be refused: see Slots).
func (s *Slots) Held() int64 { return s.held.Load() }

// Capacity returns the capacity.
func (s *Slots) Capacity() int64 { return s.cap.Load() }

// SetCapacity changes the capacity (clamped to 0..MaxCapacity); see Slots
// for what happens to weight held beyond a lowered one.
func (s *Slots) SetCapacity(c int64) { s.cap.Store(clampCapacity(c)) }
