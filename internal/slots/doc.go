// Package slots holds non-blocking slot counts small enough to sit beside
// other hot state: Slots, one count in 16 bytes, and Pair, two counts in one
// word taken with one atomic add. They are the in-memory store's layout
// helpers, not a public API: callers that wait use package semaphore.
package slots

// MaxCapacity is the largest capacity of Slots (as semaphore.MaxCapacity).
const MaxCapacity = 1<<52 - 1

const (
	errReleasedMore = "slots: released more than held"
	errNegRelease   = "slots: negative weight released"
)

func clampCapacity(c int64) int64 { return min(max(c, 0), MaxCapacity) }
