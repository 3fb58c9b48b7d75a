package limiter

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ErrThresholds is returned for alert thresholds outside 1..100 percent or
// more than 32 of them. Usage never exceeds the pool (Decision.Remaining
// stops at 0), so a threshold above 100 could never fire.
var ErrThresholds = errors.New("limiter: bad alert thresholds")

// DefaultThresholds are Zoho's alert levels, in percent of the pool.
var DefaultThresholds = []int{80, 90, 100}

// Alert says a tenant's usage crossed Threshold percent of its pool.
type Alert struct {
	Tenant    string
	Threshold int // percent
	Used      int64
	Limit     int64
	At        time.Time
}

// alerter detects crossings with one atomic load per decision (before the
// pool is read) and a compare-and-swap only when the state changes, and hands
// alerts to a goroutine through a bounded queue, so the user's function never
// runs on the hot path nor inside any lock.
type alerter struct {
	thresh  []int
	fn      func(Alert)
	queue   chan Alert
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	dropped atomic.Int64
}

func newAlerter(thresh []int, fn func(Alert), buf int) (*alerter, error) {
	if thresh == nil {
		thresh = DefaultThresholds
	}
	thresh = slices.Clone(thresh)
	slices.Sort(thresh)
	thresh = slices.Compact(thresh)
	if len(thresh) == 0 || len(thresh) > 32 || thresh[0] < 1 || thresh[len(thresh)-1] > 100 {
		return nil, ErrThresholds
	}
	a := &alerter{thresh: thresh, fn: fn, queue: make(chan Alert, buf),
		stop: make(chan struct{}), done: make(chan struct{})}
	go a.run()
	return a, nil
}

func (a *alerter) run() {
	defer close(a.done)
	for {
		select {
		case al := <-a.queue:
			a.fn(al)
		case <-a.stop:
			for {
				select {
				case al := <-a.queue:
					a.fn(al)
				default:
					return
				}
			}
		}
	}
}

// The alert state is one word: the thresholds that fired (bit i for
// thresh[i]) in the low 32 bits, and above them a generation that every
// change of the word steps. An observation (an admission's or a settle's
// report of the pool) is applied with a compare-and-swap from the word as it
// was loaded before that admission or settle read the pool (its seen word):
// it changes the state only if nothing else did while it was in flight. So
// no state change falls between an applied observation's load and its swap,
// the applied observations read the pool in the order they are applied, and
// the state moves as if they had come one at a time. One that loses is
// dropped, as it may be stale: applied, it could re-arm a threshold that a
// newer observation already found usage above, which would then fire twice
// for one crossing, or fire one that a newer observation re-armed. A fire so
// dropped comes with the next applied observation that finds usage at or
// above its threshold; a re-arm so dropped is lost (until usage is seen below
// the threshold again), so a fall and rise that races another change of the
// state can go unreported; out of order, none is reported twice.
const (
	alertMask  = 1<<32 - 1 // the fired thresholds
	alertShift = 32        // the generation's place
	alertGens  = 1<<31 - 1 // the generation's bits (32 to 62)
	alertSeen  = 1 << 63   // set in a seen word that was loaded, 0 is none
)

// seen loads st's word for an observation about to read the pool.
func (st *AlertState) seen() uint64 { return st.word.Load() | alertSeen }

// check applies one observation: a change added applied credits to the pool
// (an admission's cost, what a settle charged: fewer than it asked for if the
// pool ran out; 0 for a refund), which left remaining of limit. seen is st's
// word loaded before the change read the pool, or 0 if it was not (a Store
// outside this package): it is loaded now, which orders the observation only
// against the changes from here on.
//
// A threshold fires when usage has reached it and either it has not fired
// yet, or usage was below it just before this change (a new crossing, after
// a fall nobody reported, e.g. the window let credits go). Thresholds usage
// is below are re-armed. The usage before is used - applied: exact when the
// store read the remainder in the same step as its change, as the
// MemoryStore does on a lone window's fast path; where it reads it just
// after, another change landing in between is taken for part of this one,
// the one way left for a crossing to be reported twice (or missed).
func (a *alerter) check(now time.Time, st *AlertState, seen uint64, tenant string, limit, remaining, applied int64) {
	if limit <= 0 {
		return
	}
	if seen == 0 {
		seen = st.word.Load()
	}
	seen &^= alertSeen
	used := limit - remaining
	before := used - applied // the settled difference would overstate a cut-short charge
	var reach, rearm uint32
	for i, th := range a.thresh {
		at := (limit*int64(th) + 99) / 100
		if used >= at {
			reach |= 1 << i
		}
		if before < at {
			rearm |= 1 << i
		}
	}
	old := uint32(seen & alertMask)
	newly := reach &^ (old &^ rearm)
	if reach == old && newly == 0 {
		return // the common case: nothing to change, no write
	}
	gen := (seen>>alertShift + 1) & alertGens
	if !st.word.CompareAndSwap(seen, gen<<alertShift|uint64(reach)) {
		return // the state changed while this observation was in flight
	}
	for i, th := range a.thresh {
		if newly&(1<<i) != 0 {
			select {
			case a.queue <- Alert{Tenant: tenant, Threshold: th, Used: used, Limit: limit, At: now}:
			default:
				a.dropped.Add(1)
			}
		}
	}
}

func (a *alerter) close(ctx context.Context) error {
	a.once.Do(func() { close(a.stop) })
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// DroppedAlerts returns how many alerts were dropped because the queue was full.
func (l *Limiter) DroppedAlerts() int64 {
	if l.alerts == nil {
		return 0
	}
	return l.alerts.dropped.Load()
}
