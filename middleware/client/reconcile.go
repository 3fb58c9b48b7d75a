package client

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/window"
)

// view is what a response's limit headers say about the pool.
type view struct {
	limit, remaining       int64
	hasLimit, hasRemaining bool
	reset                  time.Time // zero: not said
	window                 time.Duration
	retryAfter             time.Duration
	hasRetryAfter          bool
	retryFar               bool // Retry-After is past what the parser reads (retryAfter is farAway)
}

// serverView reads a response's limit headers at now. It is the only caller
// of the header parser, so that a parser reading more dialects replaces one
// function. A malformed field is left out; the others still count.
func serverView(now time.Time, h http.Header) view {
	var v view
	if len(h) == 0 {
		return v
	}
	l, _ := middleware.ParseHeaders(now, h)
	if l.Has(middleware.FieldRetryAfter) { // first: a field of its own, kept whatever the pool's say
		v.retryAfter, v.hasRetryAfter = l.RetryAfter, true
	}
	if l.Has(middleware.FieldLimit) {
		if l.Limit <= 0 {
			return v // a pool of nothing: absurd, and so is what it says is left
		}
		v.limit, v.hasLimit = l.Limit, true
	}
	switch {
	case l.Has(middleware.FieldRemaining):
		v.remaining, v.hasRemaining = l.Remaining, true
	case l.Has(middleware.FieldCreditsRemaining):
		v.remaining, v.hasRemaining = l.CreditsRemaining, true
	}
	if l.Has(middleware.FieldReset) {
		v.reset = l.Reset
	}
	if l.Has(middleware.FieldWindow) {
		v.window = l.Window
	}
	return v
}

// due reports whether a response's headers are read: always for a refusal
// or failure (status 400 and up) and while the pool is learned, else at most
// once per WithReconcileEvery (one response per period wins the CAS).
func (t *Transport) due(now time.Time, status int) bool {
	if status >= 400 || t.every == 0 || t.learn.Load() {
		return true
	}
	ns := now.UnixNano()
	last := t.lastRead.Load()
	return ns-last >= t.every && t.lastRead.CompareAndSwap(last, ns)
}

// reconcile brings the pool down to what the server says is left: spending
// the server counts and this pool does not was made by others (other
// processes, other tools on the account), and is charged as external. The
// pool is never raised: credits come back as its own window returns them.
// Only a response to a request sent after the last one reconciled counts,
// since an older one tells of a pool that has moved on. left is what the
// pool had just after the call was admitted: a server that reports at least
// as much has seen no spending of others since (credits the window returned
// meanwhile aside, which the next response settles), and the pool need not
// be read again. While the pool is still to be learned it has no credit
// limit (its size is a placeholder): what is left is not reconciled, since
// a charge to the placeholder would be no spending of others, and would
// stay in the pool once its size is learned.
func (t *Transport) reconcile(now, sent time.Time, v *view, left int64) {
	if t.learn.Load() || t.learned && v.hasLimit && v.limit != t.pool.Load() {
		if t.learnFrom(now, v) {
			t.gate.released(true) // the new plan may let waiters in
		}
	}
	if !v.hasRemaining || v.remaining >= left || t.learn.Load() {
		return
	}
	s := sent.UnixNano()
	for {
		last := t.lastSync.Load()
		if s < last {
			return
		}
		if t.lastSync.CompareAndSwap(last, s) {
			break
		}
	}
	local := t.l.Peek(now, t.tenant)
	if local.Limit != t.pool.Load() && !t.learn.Load() {
		t.refreshPool(now) // the limiter's plan changed under us
	}
	ext := local.Remaining - v.remaining
	if ext <= 0 {
		return
	}
	d := t.l.Charge(now, t.tenant, ext)
	if d.Cost > 0 {
		// What servers say: saturates, never wraps.
		t.outside.credits.up.addSat(d.Cost)
		if t.usage != nil { // credits without a call: a row of their own
			t.usage.RecordOutside(now, t.tenant, d.Cost)
		}
	}
}

// learnFrom sets the pool from the first response (or a new limit, for a
// learned pool): its size and window; one call at a time until then. It
// reports whether the plan changed.
func (t *Transport) learnFrom(now time.Time, v *view) bool {
	known := v.hasLimit && v.limit <= window.MaxLimit
	if known {
		if _, _, err := t.reserves(v.limit); err != nil {
			// Not set in the limiter: the reserves could not be applied to
			// it, and the pool would stay that small however large the
			// next answers say it is (each would be compared with a size
			// never applied).
			t.warn("client: learned pool too small for the reserves", err)
			known = false
		}
	}
	if !known && !t.probing.Load() {
		return false // nothing new to learn
	}
	t.poolMu.Lock()
	defer t.poolMu.Unlock()
	p := t.l.Plan(t.tenant)
	p.Concurrency = t.learnConc
	if !sameWindows(p.Extra, t.setExtra) {
		// The caller set the plan's windows (SetPlan on the limiter) since
		// the Transport did: theirs, not WithPlan's, are the ones to keep.
		t.learnExtra = slices.Clone(p.Extra)
	}
	if known {
		q := p
		q.Credits = v.limit
		if v.window >= time.Second && v.window <= window.MaxLength {
			q.Window = v.window
		}
		q.Extra = t.fitExtra(q)
		if err := q.Validate(); err != nil {
			// A plan the limiter refuses all the same (a calendar pool
			// whose learned window is not a day's divisor or multiple):
			// not learned, but the placeholder's one call at a time is
			// lifted, as for a limit too small for the reserves.
			t.warn("client: plan from the server's headers ignored", err)
			known = false
			if !t.probing.Load() {
				return false
			}
		} else {
			p = q
		}
	}
	if err := t.l.SetPlanAt(now, t.tenant, p); err != nil {
		t.warn("client: plan from the server's headers ignored", err)
		return false
	}
	t.setExtra = t.l.Plan(t.tenant).Extra // as the limiter keeps them (calendars cloned)
	t.probing.Store(false)
	if known {
		if err := t.applyPoolLocked(now, p); err != nil {
			t.warn("client: learned pool too small for the reserves", err)
		}
		t.learn.Store(false)
		for _, it := range t.list { // the quotas have sizes now (if applied)
			if it.quotaKey != "" && t.pool.Load() != 0 {
				t.chargeUnmetered(now, it)
			}
		}
	}
	return true
}

// fitExtra returns the plan's extra windows (WithPlan's) that can bind in
// the learned pool q. One no longer than q's window yet above q's credits
// never can, since the pool refuses first, and the limiter refuses a plan
// with it (store.ErrCapAbovePool): it is left out, with a warning, so that
// the pool the server states is learned all the same. Leaving it out
// changes no admission, and it is back with a pool it can bind in.
func (t *Transport) fitExtra(q limiter.Plan) []store.WindowLimit {
	var out []store.WindowLimit
	for i, x := range t.learnExtra {
		if x.Window <= q.WindowLength() && x.Credits > q.Credits {
			t.warn("client: extra window left out of the plan learned: it cannot bind under the server's limit",
				&store.PlanError{Plan: q.Name, Field: fmt.Sprintf("Extra[%d]", i), Err: store.ErrCapAbovePool})
			continue
		}
		out = append(out, x)
	}
	return out
}

// sameWindows reports whether a and b are the same windows, calendars
// compared by value (the limiter keeps clones).
func sameWindows(a, b []store.WindowLimit) bool {
	return slices.EqualFunc(a, b, func(x, y store.WindowLimit) bool {
		if x.Credits != y.Credits || x.Window != y.Window || (x.Calendar == nil) != (y.Calendar == nil) {
			return false
		}
		return x.Calendar == nil || x.Calendar.Reset == y.Calendar.Reset && x.Calendar.Location.String() == y.Calendar.Location.String()
	})
}

func (t *Transport) refreshPool(now time.Time) {
	t.poolMu.Lock()
	defer t.poolMu.Unlock()
	if err := t.applyPoolLocked(now, t.l.Plan(t.tenant)); err != nil {
		t.warn("client: new pool too small for the reserves", err)
	}
}

// applyPool turns the integrations' percentages into credits of pool p:
// each one's keep (the others' reserves), pool level, and quota plan.
func (t *Transport) applyPool(now time.Time, p limiter.Plan) error {
	t.poolMu.Lock()
	defer t.poolMu.Unlock()
	return t.applyPoolLocked(now, p)
}

func (t *Transport) applyPoolLocked(now time.Time, p limiter.Plan) error {
	credits := p.Credits
	res, sum, err := t.reserves(credits)
	if err != nil {
		return err
	}
	for _, it := range t.list {
		if it.quotaKey == "" {
			continue
		}
		q := limiter.Plan{Name: "quota " + it.Name, Credits: max(share(credits, it.Quota, false), 1),
			Window: p.Window, Calendar: p.Calendar, Concurrency: store.MaxConcurrency}
		if err := t.l.SetPlanAt(now, it.quotaKey, q); err != nil {
			return fmt.Errorf("%w: quota of %q: %w", ErrConfig, it.Name, err)
		}
	}
	for i, it := range t.list {
		it.keep.Store(sum - res[i])
		it.level.Store(share(credits, it.MinPool, true))
	}
	t.pool.Store(credits)
	return nil
}

// share is pct percent of credits, rounded up if up, else down.
func share(credits int64, pct float64, up bool) int64 {
	x := float64(credits) * pct / 100
	if up {
		x = math.Ceil(x)
	}
	return int64(x)
}

// reserves returns each integration's reserve in a pool of credits, and
// their sum; an error if they add up to the whole pool.
func (t *Transport) reserves(credits int64) ([]int64, int64, error) {
	res := make([]int64, len(t.list))
	var sum int64
	for i, it := range t.list {
		res[i] = share(credits, it.Reserve, true)
		sum += res[i]
	}
	if sum > 0 && sum >= credits {
		return nil, 0, fmt.Errorf("%w: reserves add up to %d credits, the whole pool of %d", ErrConfig, sum, credits)
	}
	return res, sum, nil
}

func (t *Transport) warn(msg string, err error) {
	if t.logger != nil {
		t.logger.LogAttrs(context.Background(), slog.LevelWarn, msg, slog.String("error", err.Error()))
	}
}
