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
// more than 32 of them. Usage never exceeds the pool, so a threshold above
// 100 could never fire.
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

// WithAlerts calls fn when a tenant's usage crosses one of the thresholds
// (percent of the pool, 1 to 100; nil = 80, 90, 100): once per crossing,
// not once per request. A crossing is a step of the store (an admission, a
// settle's charge, a Reserve, a Charge) that takes the pool's use from
// below a threshold to at or above it; the store reports the use before and
// after each step from that step itself, so each crossing is reported by
// exactly one step, however steps interleave, on every store (over a shared
// store, by the one process that made it). Use falls back below a threshold
// when credits come back or are refunded, and the next rise through it is a
// new crossing. A plan change that moves the pool's size is not a step: use
// that it puts above a threshold is reported by no one until a new crossing.
//
// fn runs on a goroutine of its own, never inside Acquire; Close stops it.
// Alerts beyond a queue of 1024 are dropped and counted (DroppedAlerts).
// An fn that panics loses its alert, counted there too: the panic is
// recovered (on that goroutine nothing else could, and it would end the
// process), and the next alerts are delivered.
func WithAlerts(thresholds []int, fn func(Alert)) Option {
	return optionFunc(func(c *config) { c.thresh, c.alertFn = thresholds, fn })
}

// alerter detects crossings from each step's figures with no state of its
// own, and hands alerts to a goroutine through a bounded queue, so the
// user's function never runs on the hot path nor inside any lock.
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
			a.deliver(al)
		case <-a.stop:
			for {
				select {
				case al := <-a.queue:
					a.deliver(al)
				default:
					return
				}
			}
		}
	}
}

// deliver calls fn with al; a panic loses al, counted as dropped.
func (a *alerter) deliver(al Alert) {
	defer func() {
		if recover() != nil {
			a.dropped.Add(1)
		}
	}()
	a.fn(al)
}

// at is the use at which threshold th (percent) of limit is reached.
func at(limit int64, th int) int64 { return (limit*int64(th) + 99) / 100 }

// check reports the thresholds that step d crossed: d.Used-d.Cost before
// it, d.Used after it, both from the step itself.
func (a *alerter) check(now time.Time, tenant string, d *Decision) {
	after, limit := d.Used, d.Limit
	if limit <= 0 || after < at(limit, a.thresh[0]) {
		return // the common case: below every threshold
	}
	before := after - d.Cost
	for _, th := range a.thresh {
		if x := at(limit, th); before < x && x <= after {
			select {
			case a.queue <- Alert{Tenant: tenant, Threshold: th, Used: after, Limit: limit, At: now}:
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

// DroppedAlerts returns how many alerts were dropped because the queue was
// full or the alert function panicked.
func (l *Limiter) DroppedAlerts() int64 {
	if l.alerts == nil {
		return 0
	}
	return l.alerts.dropped.Load()
}
