package client

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/creditgate/creditgate/usage"
)

// Outside is the name under which spending the server reports and no
// integration of this Transport made is counted ([Transport.Stats], and the
// App of usage events).
const Outside = usage.Outside

// DefaultIntegration is the integration of requests that name none when
// [WithIntegrations] configures none.
const DefaultIntegration = "default"

// Integration is the policy of one named consumer of the pool (a sync job,
// a BI export, the web forms). The zero policy (only a Name) shares the pool
// with no limit of its own.
type Integration struct {
	Name string
	// Quota is the most the integration may spend, in percent of the pool,
	// over the pool's window: in (0, 100]; 0 is no quota. With a learned
	// pool, a call answered once the pool's size is known counts in it
	// even if it was sent before (the call whose answer taught it); the
	// calls answered before the size was known (answers that said none)
	// are summed, and the sum is charged to the quota when the size is
	// learned, as spent then (their credits come back a window after
	// that). Calls refunded (a 429 or 5xx) count nothing. The sum is one
	// counter per integration, capped at the largest pool.
	Quota float64
	// Reserve is the share of the pool, in percent, that only this
	// integration may spend: every other integration leaves it untaken.
	// In [0, 100); the reserves of all integrations add up to less than 100.
	Reserve float64
	// Priority orders the waiters when something is short: higher first,
	// FIFO within a priority.
	Priority int
	// Quiet holds the integration's calls during these hours (nil: never).
	Quiet *QuietHours
	// MinPool holds the integration's calls while the pool has less than
	// this percent of its credits left: in [0, 100]; 0 is no level.
	MinPool float64
	// FailFast makes its calls fail at once with a *LimitError instead of
	// waiting (a queue worker that would rather requeue); see also
	// [WithFailFast].
	FailFast bool
}

// QuietHours is a daily span of wall-clock time in a location: from From
// to To past midnight; From after To spans midnight.
type QuietHours struct {
	From, To time.Duration // in [0, 24h), From != To
	Location *time.Location
}

// end returns when the quiet span holding now ends, or the zero time if now
// is outside it.
func (q *QuietHours) end(now time.Time) time.Time {
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	t := now.In(loc)
	y, m, d := t.Date()
	// The wall clock's time of day, not the time elapsed since midnight:
	// on the day of a DST change they are an hour apart.
	h, mi, sec := t.Clock()
	since := time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute +
		time.Duration(sec)*time.Second + time.Duration(t.Nanosecond())
	at := func(dayOffset int, off time.Duration) time.Time {
		// Wall-clock offsets: a day around a DST change has 23 or 25 hours.
		h, mi := int(off/time.Hour), int(off%time.Hour/time.Minute)
		s := off % time.Minute
		return time.Date(y, m, d+dayOffset, h, mi, 0, 0, loc).Add(s)
	}
	var end time.Time
	switch {
	case q.From < q.To && since >= q.From && since < q.To:
		end = at(0, q.To)
	case q.From > q.To && since >= q.From:
		end = at(1, q.To)
	case q.From > q.To && since < q.To:
		end = at(0, q.To)
	default:
		return time.Time{}
	}
	if !end.After(now) {
		// The hour clocks go back repeats its wall-clock times, and
		// time.Date names the first: in the second, the end is as far
		// on as the wall clock says.
		end = now.Add(q.To - since)
	}
	return end
}

func (it *Integration) validate() error {
	bad := func(field string, v any) error {
		return fmt.Errorf("%w: integration %q: %s %v", ErrConfig, it.Name, field, v)
	}
	percent := func(x float64) bool { return !math.IsNaN(x) && x >= 0 && x <= 100 }
	switch {
	case it.Name == "":
		return fmt.Errorf("%w: an integration has no name", ErrConfig)
	case it.Name == Outside:
		return fmt.Errorf("%w: integration name %q is reserved for external spend", ErrConfig, Outside)
	case !percent(it.Quota):
		return bad("quota (percent, 0 to 100)", it.Quota)
	case !percent(it.Reserve) || it.Reserve == 100:
		return bad("reserve (percent, 0 to below 100)", it.Reserve)
	case it.Quota > 0 && it.Reserve > it.Quota:
		return bad("reserve above its own quota", it.Reserve)
	case !percent(it.MinPool):
		return bad("pool level (percent, 0 to 100)", it.MinPool)
	}
	if q := it.Quiet; q != nil {
		day := 24 * time.Hour
		if q.From < 0 || q.From >= day || q.To < 0 || q.To >= day || q.From == q.To {
			return bad("quiet hours", fmt.Sprintf("%v-%v", q.From, q.To))
		}
	}
	return nil
}

// integration is an Integration at run time.
type integration struct {
	Integration
	idx      int          // in Transport.list
	quotaKey string       // the quota's tenant in the limiter, "" for no quota
	keep     atomic.Int64 // credits of the others' reserves this one leaves untaken
	level    atomic.Int64 // MinPool in credits
	waiting  atomic.Int64 // its calls queued in the gate
	// unmetered is the credits of its calls answered while a learned pool's
	// size was unknown, not yet charged to its quota (see
	// Transport.unmetered); at most window.MaxLimit, the most a quota holds.
	unmetered atomic.Int64
	c         counters
}

// callOpts is what a request's context says about it.
type callOpts struct {
	integration string
	failFast    bool
	cacheBypass bool
}

type callOptsKey struct{}

// WithIntegration returns a copy of ctx whose requests belong to the named
// integration.
func WithIntegration(ctx context.Context, name string) context.Context {
	o := optsOf(ctx)
	o.integration = name
	return context.WithValue(ctx, callOptsKey{}, o)
}

// WithFailFast returns a copy of ctx whose requests fail at once with a
// *LimitError instead of waiting for credits, slots or hours, also when
// the server refuses one for credits (a 429 retried only after the pool's
// reset).
func WithFailFast(ctx context.Context) context.Context {
	o := optsOf(ctx)
	o.failFast = true
	return context.WithValue(ctx, callOptsKey{}, o)
}

// WithCacheBypass returns a copy of ctx whose requests are not answered from
// the cache ([WithCaching]): they are sent, and their answers refresh it.
func WithCacheBypass(ctx context.Context) context.Context {
	o := optsOf(ctx)
	o.cacheBypass = true
	return context.WithValue(ctx, callOptsKey{}, o)
}

func optsOf(ctx context.Context) callOpts {
	o, _ := ctx.Value(callOptsKey{}).(callOpts)
	return o
}
