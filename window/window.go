package window

import (
	"errors"
	"math"
	"time"
)

// Window is the contract shared by [Rolling], [Fixed] and [Compound]: a pool of
// credits that comes back over time. Every method takes the instant it acts at,
// so callers (and tests) own the clock. Implementations are safe for concurrent use.
type Window interface {
	// TryAcquireAt takes n credits at now if all n are available (all or nothing).
	// false, nil means refused for lack of credits. err != nil only for bad input
	// (n <= 0: ErrInvalidCount; n > Limit(): ErrExceedsLimit); it never panics.
	TryAcquireAt(now time.Time, n int64) (bool, error)
	// RefundAt gives back n credits that were acquired at time spent. Credits whose
	// slot has already left the window are not resurrected; the pool never exceeds Limit.
	// It returns how many credits it gave back.
	RefundAt(now, spent time.Time, n int64) int64
	// TakeAt takes n credits at now, all or nothing (or, if partial, as many
	// as fit), leaving at least keep of the limit untaken, and reports the
	// step as read in the same atomic step as the change. n <= 0 takes
	// nothing and reports the window as it is.
	TakeAt(now time.Time, n, keep int64, partial bool) Take
	// ChargeAt debits up to n credits at now without the all-or-nothing check, for
	// settling a real cost above the reserved one; it takes at most what remains
	// (never below 0) and returns what it took.
	ChargeAt(now time.Time, n int64) int64
	// RemainingAt reports the credits available at now.
	RemainingAt(now time.Time) int64
	// ResetAt reports when the next spent credits come back (now if nothing is spent).
	ResetAt(now time.Time) time.Time
	// AvailableAt reports the earliest time >= now at which n credits are available
	// if nothing else is spent. Error if n <= 0 or n > Limit().
	AvailableAt(now time.Time, n int64) (time.Time, error)
	// Limit reports the pool size.
	Limit() int64
	// SetLimit changes the pool size at run time (plan upgrade, add-on credits)
	// without losing what is spent. Error if limit <= 0 or above MaxLimit.
	SetLimit(limit int64) error
}

// Take is what one TakeAt did: how much it took and what the window holds
// just after, both from the same atomic step, so that a caller can tell the
// usage before and after its own change exactly (an alert crossing, say)
// whatever other callers do meanwhile.
type Take struct {
	Took      int64 // credits taken: all asked for, fewer (partial), or 0 (for a Compound, its first part's)
	Spent     int64 // credits spent in the window just after (for a Compound, its first part's)
	Remaining int64 // credits that could be taken just after (a Compound's least)
}

// MaxLimit is the largest pool a window accepts. The current slot's word
// packs a 41-bit amount beside a 23-bit slot tag, so any amount up to 2^40
// fits with room (an older slot's amount too large for its 32-bit word
// goes to a 64-bit one of the same packing).
const MaxLimit = 1 << 40

// MaxLength is the longest rolling window NewRolling accepts: ten years.
// Instants are counted in unsigned nanoseconds from 1677 (see Rolling), and
// the latest one a window computes, when credits come back, is about two
// lengths after now; a length of a century would overflow within this one.
const MaxLength = 10 * 366 * 24 * time.Hour

// MaxSlots is the largest slot count WithSlots accepts.
const MaxSlots = 1 << 16

// DefaultSlots is the slot count used without WithSlots: 96 slots make a
// 24-hour window's slot 15 minutes wide.
const DefaultSlots = 96

var (
	// ErrInvalidCount is returned for a credit count <= 0.
	ErrInvalidCount = errors.New("window: credit count must be positive")
	// ErrExceedsLimit is returned for a credit count above the window's limit:
	// such a request can never be admitted, so waiting for it is pointless.
	ErrExceedsLimit = errors.New("window: credit count exceeds the limit")
	// ErrInvalidLimit is returned for a limit <= 0 or above MaxLimit.
	ErrInvalidLimit = errors.New("window: limit must be between 1 and 2^40")
	// ErrInvalidLength is returned for a window length or period that is not
	// positive, a rolling length above MaxLength, or (for Fixed) a period
	// neither a whole number of days nor a divisor of a day.
	ErrInvalidLength = errors.New("window: length must be positive (and a rolling one at most MaxLength)")
	// ErrInvalidSlots is returned for a slot count outside 1..MaxSlots.
	ErrInvalidSlots = errors.New("window: slot count must be between 1 and 65536")
	// ErrInvalidReset is returned by NewFixed for a reset offset outside [0, 24h).
	ErrInvalidReset = errors.New("window: reset offset must be within [0, 24h)")
	// ErrNilLocation is returned by NewFixed for a nil location.
	ErrNilLocation = errors.New("window: nil location")
	// ErrNoWindows is returned by NewCompound without windows or with a nil one.
	ErrNoWindows = errors.New("window: compound needs at least one non-nil window")
	// ErrCompoundLimit is returned by Compound.SetLimit: a compound has one limit
	// per part, so set them on the parts.
	ErrCompoundLimit = errors.New("window: compound has no single limit; set it on its windows")
)

// Option configures NewRolling.
type Option interface{ apply(*config) }

type config struct {
	slots int
}

type slotsOption int

func (o slotsOption) apply(c *config) { c.slots = int(o) }

// WithSlots sets the number of slots a rolling window is split into. More slots
// return credits closer to the exact sliding log (the withheld amount is bounded
// by one slot's width of spending) at the cost of 8 bytes per slot.
func WithSlots(s int) Option { return slotsOption(s) }

func buildConfig(opts []Option) config {
	c := config{slots: DefaultSlots}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

// errInUse is returned by an in-place set-up of a Rolling already set up.
var errInUse = errors.New("window: Init on a window already set up")

// fit returns how many of n credits a take may charge beside the spent ones
// under limit L: all n if they fit, else (partial) as many as fit, else 0.
// It compares n with L-spent: spent+n overflows for an n near MaxInt64 (a
// charge of a huge settled cost), which would then fit whole.
func fit(spent, n, L int64, partial bool) int64 {
	if n <= L-spent {
		return n
	}
	if !partial {
		return 0
	}
	return max(L-spent, 0)
}

// under is what a take may fill under limit L leaving keep untaken, at
// least 0: fit subtracts the spent credits from it, which overflows into
// room for a take if a keep near MaxInt64 left it near MinInt64.
func under(L, keep int64) int64 { return max(L-max(keep, 0), 0) }

// unixSecs bounds the seconds whose every instant UnixNano holds.
const unixSecs = math.MaxInt64/1_000_000_000 - 1

// UnixNano is t.UnixNano as the windows read it: with t's second clamped
// to those it holds whole (1677 to 2262) instead of wrapped around: 1600
// would read as 2184, a jump ahead that forgets what is spent, and a period
// ending after 2262 would end before it began. Instants past either end
// read as within a second of it: stale callers, or a jump to 2262. It is
// two conditional moves more than UnixNano and keeps TakeAt's toU inlined.
func UnixNano(t time.Time) int64 {
	return min(max(t.Unix(), -unixSecs), unixSecs)*1e9 + int64(t.Nanosecond())
}

// tokenWindow lets Compound refund exactly the credits it took, even when a
// stale caller's credits were charged to a later slot than its own now.
type tokenWindow interface {
	stepTok(now time.Time, n, keep int64, partial bool) (Take, uint64)
	refundTok(tok uint64, n int64) int64
}

var (
	_ Window      = (*Rolling)(nil)
	_ Window      = (*Fixed)(nil)
	_ Window      = (*Compound)(nil)
	_ tokenWindow = (*Rolling)(nil)
	_ tokenWindow = (*Fixed)(nil)
)
