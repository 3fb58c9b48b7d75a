package storetest

import (
	"iter"
	"slices"
	"sync"
	"time"

	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/window"
)

// Reference is a deliberately simple store.Store: one mutex, maps, and for
// each rolling window the exact log of its spends (credits spent at t come
// back at t+W, to the nanosecond). It shows that the contract is enough to
// build a store from, and it is the model the property tests hold the
// other stores to. Calendar windows use window.Fixed. Not for production:
// every call takes the one lock and logs grow with the traffic of a window.
type Reference struct {
	mu      sync.Mutex // protects tenants and everything in them
	tenants map[string]*refTenant
}

// RefLease is the Reference store's lease.
type RefLease struct {
	tenant, app, class string
	units              int64     // of app's concurrency
	at                 time.Time // the instant the credits were counted at
	credits            int64     // what the Take and the Settles charged: a Settle's Exceeds is of the whole
	held               bool
}

type refTenant struct {
	plan     *store.Plan
	wins     []*refWindow // the pool first
	apps     map[string]int64
	classes  map[string]int64
	frontier time.Time // the latest now seen: a stale caller is counted here
}

type refWindow struct {
	spec  store.WindowLimit
	log   []refSpend    // rolling: spends, oldest first
	fixed *window.Fixed // calendar
}

type refSpend struct {
	at time.Time
	n  int64
}

var (
	_ store.Store[RefLease] = (*Reference)(nil)
	_ store.Lister          = (*Reference)(nil)
)

// NewReference returns an empty Reference store.
func NewReference() *Reference { return &Reference{tenants: map[string]*refTenant{}} }

func newRefWindow(x store.WindowLimit) *refWindow {
	w := &refWindow{spec: x}
	if x.Calendar != nil {
		w.fixed, _ = window.NewFixed(x.Credits, x.Window, x.Calendar.Reset, x.Calendar.Location)
	}
	return w
}

func specs(p *store.Plan) []store.WindowLimit {
	return append([]store.WindowLimit{p.Pool()}, p.Extra...)
}

// tenant returns key's tenant, created with its plan if create; and now
// moved to the tenant's frontier if it is older.
func (r *Reference) tenant(key string, now time.Time, plans store.PlanFunc, create bool) (*refTenant, time.Time) {
	t := r.tenants[key]
	if t == nil {
		if !create {
			return nil, now
		}
		p := plans(key)
		t = &refTenant{plan: p, apps: map[string]int64{}, classes: map[string]int64{}, frontier: now}
		for _, x := range specs(p) {
			t.wins = append(t.wins, newRefWindow(x))
		}
		r.tenants[key] = t
	}
	if now.Before(t.frontier) {
		return t, t.frontier
	}
	t.frontier = now
	return t, now
}

// spent is what w holds spent at now.
func (w *refWindow) spent(now time.Time) int64 {
	var n int64
	if w.fixed != nil {
		for _, k := range w.fixed.Returns(now) {
			n += k
		}
		return n
	}
	for _, s := range w.log {
		if s.at.Add(w.spec.Window).After(now) {
			n += s.n
		}
	}
	return n
}

// take takes up to n (all or nothing unless partial) leaving keep.
func (w *refWindow) take(now time.Time, n, keep int64, partial bool) int64 {
	if w.fixed != nil {
		return w.fixed.TakeAt(now, n, keep, partial).Took
	}
	k := min(n, max(w.spec.Credits-keep-w.spent(now), 0))
	if k < n && !partial {
		return 0
	}
	if k > 0 {
		w.log = append(w.log, refSpend{now, k})
	}
	return k
}

// refund gives back up to n credits counted at at.
func (w *refWindow) refund(now, at time.Time, n int64) int64 {
	if w.fixed != nil {
		return w.fixed.RefundAt(now, at, n)
	}
	var back int64
	for i := len(w.log) - 1; i >= 0 && back < n; i-- {
		if s := &w.log[i]; s.at.Equal(at) && s.at.Add(w.spec.Window).After(now) {
			k := min(s.n, n-back)
			s.n -= k
			back += k
		}
	}
	return back
}

// availableAt is when n credits (with nothing more spent) are free in w.
func (w *refWindow) availableAt(now time.Time, n int64) (time.Time, bool) {
	if n > w.spec.Credits {
		return time.Time{}, false
	}
	if w.fixed != nil {
		at, err := w.fixed.AvailableAt(now, n)
		return at, err == nil
	}
	free := w.spec.Credits - w.spent(now)
	at := now
	for _, s := range w.log {
		if free >= n {
			break
		}
		if back := s.at.Add(w.spec.Window); back.After(now) {
			free += s.n
			at = back
		}
	}
	return at, free >= n
}

// resetAt is when w's next spent credits come back (now if none are spent).
func (w *refWindow) resetAt(now time.Time) time.Time {
	if w.fixed != nil {
		return w.fixed.ResetAt(now)
	}
	for _, s := range w.log {
		if back := s.at.Add(w.spec.Window); back.After(now) && s.n > 0 {
			return back
		}
	}
	return now
}

// decide fills d with t's pool at now and the figures of t's plan (for a
// request of class), once d's Reason and Cost are set.
func (t *refTenant) decide(now time.Time, class string, d *store.Decision) {
	d.PlanFigures(t.plan, class)
	pool := t.wins[0]
	d.Limit, d.Window, d.Used = pool.spec.Credits, pool.spec.Window, pool.spent(now)
	d.Remaining, d.Reset = pool.spec.Credits, now
	least := int64(-1)
	for _, w := range t.wins {
		rem := max(w.spec.Credits-w.spent(now), 0)
		d.Remaining = min(d.Remaining, rem)
		if least < 0 || rem < least || (rem == least && w.resetAt(now).After(d.Reset)) {
			least, d.Reset = rem, w.resetAt(now)
		}
	}
}

// retryAfter is how long until n credits are free in every window of t.
func (t *refTenant) retryAfter(now time.Time, n int64) time.Duration {
	at := now
	for _, w := range t.wins {
		x, ok := w.availableAt(now, n)
		if !ok {
			return t.wins[0].spec.Window
		}
		if x.After(at) {
			at = x
		}
	}
	return at.Sub(now)
}

// Take implements store.Store.
func (r *Reference) Take(now time.Time, req *store.Request, plans store.PlanFunc, lease *RefLease, d *store.Decision) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := max(req.Credits, 0)
	t, now := r.tenant(req.Tenant, now, plans, true)
	*d = store.Decision{Cost: n}
	capped, ok := t.plan.SubConcurrency[req.Class]
	units := max(req.Units, 1)
	switch {
	case units > store.MaxUnits || units > t.plan.Concurrency-t.apps[req.App]: // not held+units: MaxInt64 units would wrap
		d.Reason, d.RetryAfter = store.ReasonConcurrency, store.ConcurrencyRetryAfter
	case ok && t.classes[req.Class] >= capped:
		d.Reason, d.RetryAfter = store.ReasonSubConcurrency, store.ConcurrencyRetryAfter
	case !t.takeAll(now, n, req.Keep):
		d.Reason, d.RetryAfter = store.ReasonCredits, t.retryAfter(now, n+max(req.Keep, 0))
	default:
		d.Allowed = true
		t.apps[req.App] += units
		class := ""
		if ok {
			class = req.Class
			t.classes[class]++
		}
		*lease = RefLease{tenant: req.Tenant, app: req.App, class: class, units: units, at: now, credits: n, held: true}
	}
	t.decide(now, req.Class, d)
}

// takeAll takes n from every window (keep from the pool) or from none.
func (t *refTenant) takeAll(now time.Time, n, keep int64) bool {
	if n == 0 {
		return true
	}
	for i, w := range t.wins {
		k := int64(0)
		if i == 0 {
			k = max(keep, 0)
		}
		if w.spec.Credits-k-w.spent(now) < n {
			return false
		}
	}
	for _, w := range t.wins {
		w.take(now, n, 0, false)
	}
	return true
}

// Release implements store.Store.
func (r *Reference) Release(l *RefLease) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tenants[l.tenant]
	if !l.held || t == nil {
		return
	}
	l.held = false
	if t.apps[l.app] -= l.units; t.apps[l.app] <= 0 {
		delete(t.apps, l.app)
	}
	if l.class != "" {
		if t.classes[l.class]--; t.classes[l.class] <= 0 {
			delete(t.classes, l.class)
		}
	}
}

// Settle implements store.Store.
func (r *Reference) Settle(now time.Time, l *RefLease, delta int64, exact bool) store.Decision {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, now := r.tenant(l.tenant, now, nil, false)
	if t == nil {
		return store.Decision{}
	}
	d := store.Decision{Allowed: true}
	switch {
	case delta < 0:
		d.Cost = -t.wins[0].refund(now, l.at, -delta)
		for _, w := range t.wins[1:] {
			w.refund(now, l.at, -delta)
		}
	case exact && !t.takeAll(now, delta, 0):
		d = store.Decision{Reason: store.ReasonCredits, Cost: delta, RetryAfter: t.retryAfter(now, delta)}
	case exact:
		d.Cost = delta
	default:
		d.Cost = t.charge(now, delta)
	}
	t.decide(now, "", &d)
	d.SettleFigures(t.plan, l.credits)
	if d.Allowed {
		l.credits += d.Cost
	}
	return d
}

// charge takes up to n from the pool and from each later window up to what
// the one before it took (as window.Compound), and returns what the pool
// took (the Decision describes the pool).
func (t *refTenant) charge(now time.Time, n int64) int64 {
	took := t.wins[0].take(now, n, 0, true)
	least := took
	for _, w := range t.wins[1:] {
		least = w.take(now, least, 0, true)
	}
	return took
}

// Charge implements store.Store.
func (r *Reference) Charge(now time.Time, tenant string, n int64, plans store.PlanFunc) store.Decision {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, now := r.tenant(tenant, now, plans, true)
	d := store.Decision{Allowed: true}
	if n > 0 {
		d.Cost = t.charge(now, n)
	}
	t.decide(now, "", &d)
	return d
}

// Peek implements store.Store.
func (r *Reference) Peek(now time.Time, tenant string, n int64, plans store.PlanFunc) store.Decision {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tenants[tenant]
	if t == nil { // reported as new, and not created
		t = &refTenant{plan: plans(tenant)}
		for _, x := range specs(t.plan) {
			t.wins = append(t.wins, newRefWindow(x))
		}
	} else if now.Before(t.frontier) {
		now = t.frontier
	}
	d := store.Decision{Allowed: true}
	t.decide(now, "", &d)
	if n > d.Remaining {
		d.RetryAfter = t.retryAfter(now, n)
	}
	return d
}

// SetPlan implements store.Store: limits change in place; each new window
// takes the log of the shortest old window at least as long (else the
// longest), so what was spent keeps its times.
func (r *Reference) SetPlan(now time.Time, tenant string, p *store.Plan) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tenants[tenant]
	if t == nil {
		return nil
	}
	var wins []*refWindow
	for _, x := range specs(p) {
		var src *refWindow
		for _, o := range t.wins {
			ol := o.spec.Window
			switch {
			case src == nil,
				ol >= x.Window && (src.spec.Window < x.Window || ol < src.spec.Window),
				ol < x.Window && src.spec.Window < x.Window && ol > src.spec.Window:
				src = o
			}
		}
		w := newRefWindow(x)
		if w.fixed == nil && src.fixed == nil {
			w.log = slices.Clone(src.log)
		} else if spent := src.spent(now); spent > 0 { // what is out, charged now
			if w.fixed != nil {
				_ = w.fixed.SetLimit(window.MaxLimit) // spends above the limit stay spent
				w.fixed.TakeAt(now, spent, 0, true)
				_ = w.fixed.SetLimit(x.Credits)
			} else {
				w.log = append(w.log, refSpend{now, spent})
			}
		}
		wins = append(wins, w)
	}
	t.plan, t.wins = p, wins
	return nil
}

// Tenants implements store.Lister.
func (r *Reference) Tenants() iter.Seq[string] {
	r.mu.Lock()
	keys := make([]string, 0, len(r.tenants))
	for k := range r.tenants {
		keys = append(keys, k)
	}
	r.mu.Unlock()
	return slices.Values(keys)
}
