package redis

import "time"

// Mode is what a store does while Redis cannot be reached (the circuit
// breaker is open, or a call failed after its retries).
type Mode uint8

// Failure modes.
const (
	// FailClosed refuses with store.ReasonUnavailable: the pool is never
	// over-admitted, and nothing is admitted while Redis is down.
	FailClosed Mode = iota
	// FailOpen admits every call (no slots, no credits checked), counts
	// them, and charges their credits to the pool once Redis is back.
	FailOpen
	// Degraded spends the credits this instance already leased, then a
	// safe share of each tenant's pool (1/N of it for N instances, per
	// window, of what the instance last saw left if less, and as much of
	// each extra window, and ceil(cap/N) slots per application and class,
	// of which the units the instance still holds take their part: calls
	// admitted before the outage and still running, spare slots, takes
	// under way), and charges what it spent to the pool once Redis is back,
	// where the calls it admitted are then held as any lease. The fleet
	// admits at most its leased blocks and one pool per window, never N
	// pools; beyond what the pool really had left only by what others spent
	// since each instance last looked. A call of more units than its
	// application's share is refused with store.ReasonUnavailable: only
	// Redis can admit it.
	Degraded
)

func (m Mode) String() string {
	switch m {
	case FailClosed:
		return "fail-closed"
	case FailOpen:
		return "fail-open"
	case Degraded:
		return "degraded"
	}
	return "unknown"
}

// Option configures New.
type Option interface{ apply(*config) }

type config struct {
	prefix     string
	clientTime bool
	slots      int
	timeout    time.Duration // one call, retries included
	leaseTTL   time.Duration
	replayTTL  time.Duration
	mode       Mode
	instances  int
	failures   int           // consecutive failures that open the breaker
	cooldown   time.Duration // open for this long before a probe
	maxBlock   int64         // credit leasing: the largest block (0: off)
	maxTenants int
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// Defaults.
const (
	DefaultTimeout   = 500 * time.Millisecond
	DefaultLeaseTTL  = 30 * time.Second
	DefaultReplayTTL = 30 * time.Second
	DefaultCooldown  = time.Second
	DefaultFailures  = 3
	// blockFraction: a block is never more than 1/blockFraction of what
	// the pool has left.
	blockFraction = 8
	// maxWindowSlots bounds WithSlots: a script reads a window's slots in
	// one step when it expires them.
	maxWindowSlots = 4096
)

func buildConfig(opts []Option) config {
	c := config{prefix: "cg:", slots: 96, timeout: DefaultTimeout, leaseTTL: DefaultLeaseTTL,
		replayTTL: DefaultReplayTTL, instances: 1, failures: DefaultFailures, cooldown: DefaultCooldown,
		maxTenants: 100_000}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

// WithPrefix puts the store's keys under prefix (default "cg:"): stores
// with different prefixes share nothing. It holds no brace: the tenant's
// hash tag follows it (New returns ErrConfig).
func WithPrefix(prefix string) Option { return optionFunc(func(c *config) { c.prefix = prefix }) }

// WithClientTime makes the store count credits at the now it is given
// instead of Redis's clock (TIME): for tests that drive a fake clock (the
// conformance suite) and for replays. Live instances keep Redis's clock,
// which all of them share. Leases expire by Redis's clock either way.
func WithClientTime() Option { return optionFunc(func(c *config) { c.clientTime = true }) }

// WithSlots splits each rolling window into n slots (default 96, at most
// 4096): credits come back at most one slot's width late.
func WithSlots(n int) Option { return optionFunc(func(c *config) { c.slots = n }) }

// WithTimeout bounds each call to Redis, its retries after ambiguous errors
// included (default DefaultTimeout).
func WithTimeout(d time.Duration) Option { return optionFunc(func(c *config) { c.timeout = d }) }

// WithLeaseTTL sets how long a concurrency slot stays held without renewal
// (default DefaultLeaseTTL): a crashed holder's slots come back after it.
// The store renews its leases every third of it.
func WithLeaseTTL(d time.Duration) Option { return optionFunc(func(c *config) { c.leaseTTL = d }) }

// WithReplayTTL sets how long Redis keeps each step's result for a replay
// after an ambiguous error (default DefaultReplayTTL); it must outlast
// WithTimeout. A refund whose call failed is replayed only within
// WithReplayTTL less twice WithTimeout of the failure (a replay after its
// record is gone might apply it twice): below twice WithTimeout, such a
// refund is dropped at once (its Settle's Cost says 0).
func WithReplayTTL(d time.Duration) Option { return optionFunc(func(c *config) { c.replayTTL = d }) }

// WithFailure sets the failure mode (default FailClosed); instances is the
// N of Degraded's 1/N share (at least 1).
func WithFailure(m Mode, instances int) Option {
	return optionFunc(func(c *config) { c.mode, c.instances = m, instances })
}

// WithBreaker opens the circuit after failures consecutive failed calls and
// probes again after cooldown (defaults DefaultFailures, DefaultCooldown).
func WithBreaker(failures int, cooldown time.Duration) Option {
	return optionFunc(func(c *config) { c.failures, c.cooldown = failures, cooldown })
}

// WithCreditLeasing lets the instance take up to maxBlock credits beyond a
// call's at once and spend them locally, and keep the slots of ended calls
// for the next ones: most decisions then make no round trip. Blocks adapt
// to the traffic (doubling while used up, halving when given back idle)
// and never exceed 1/8 of what the pool has left; what is not spent goes
// back to the slot it was taken in. Calls with a Keep, and plans with a
// calendar window, always go to Redis.
func WithCreditLeasing(maxBlock int64) Option {
	return optionFunc(func(c *config) { c.maxBlock = maxBlock })
}
