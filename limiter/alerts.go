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

// alerter detects crossings with one atomic load per decision and hands
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

// check runs after a change added applied credits to the pool (an
// admission's cost, what a settle charged: fewer than it asked for if the
// pool ran out; 0 for a refund), which left remaining of limit. A threshold
// fires when it is reached now and either has not fired yet, or usage was
// below it just before this change (a new crossing, e.g. after the window let
// credits go, which no request may have observed). Thresholds that usage is
// below now are re-armed. A lost CAS means another goroutine made the same
// transition (or the next decision will).
func (a *alerter) check(now time.Time, st *AlertState, tenant string, limit, remaining, applied int64) {
	if limit <= 0 {
		return
	}
	used := limit - remaining
	before := used - applied // the settled difference would overstate a cut-short charge
	var cur, below uint32
	for i, th := range a.thresh {
		at := (limit*int64(th) + 99) / 100
		if used >= at {
			cur |= 1 << i
		}
		if before < at {
			below |= 1 << i
		}
	}
	old := st.fired.Load()
	newly := cur &^ (old &^ below)
	if old == cur && newly == 0 || !st.fired.CompareAndSwap(old, cur) {
		return
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
