package middleware

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/store"
)

// handler is what New returns.
type handler struct {
	next  http.Handler
	l     *limiter.Limiter
	costs *cost.Table
	cfg   *config

	values valueCaches // LIMIT and RESET header values

	// statsKeys says whether the user and IP keys run: only the limiter's
	// usage statistics or a store other than its in-memory one use them.
	statsKeys bool

	// readsBodies: some route prices by a function, which may read the body.
	readsBodies bool
	budget      *PricingBudget // bodies held for pricing (WithPricingBudget, WithSharedPricingBudget)
}

// New wraps next so that every request is priced by costs and admitted or
// refused by l, all or nothing: the application's concurrency slot, the API
// class's sub-concurrency slot and the credits.
//
// A refused request gets 429, Retry-After (whole seconds, rounded up), the limit
// headers and a body saying which limit refused it ([Refusal], written by the
// [ErrorBodies] of [WithErrorBodies]; by default RFC 9457 problem details).
// A request that costs more than the whole pool (or than a window of a
// compound plan holds) can never be admitted: it gets 403 instead, by
// [ByCost], with the limit headers and no Retry-After; so does one that
// takes more units of its application's concurrency cap than the cap of
// the plan the store decided under (cost.Route.Units), by [ByUnits].
// A refusal by a store that reached no pool (full) or could not decide (a
// shared store out of reach) has no limit headers: it knows no figures.
// An admitted request gets the limit headers (see [HeaderLimit]) and goes on to
// next unchanged, with a ResponseWriter through which next can call
// [ReportCost].
// A request whose cost cannot be computed (a body-priced route with a malformed
// or oversized body) gets 400 or 413 ([Failure]) in the same shape, and so
// does one whose tenant or application key is too long ([WithMaxKeyBytes]).
// A request admitted at its route's least price and then refused by its body
// (400, 413, 503, 429 for a price the pool cannot pay now, or 403 for one
// above the whole pool) counts in the
// limiter's usage statistics as a refusal, not a call ([limiter.Ticket.Refuse]).
// The bodies being priced hold at most [WithPricingBudget] bytes between them;
// past it a request gets 503 with Retry-After at once, and one whose body
// alone reaches the whole budget gets 413. A request whose body
// was priced reaches next as a shallow copy whose body replays it whole.
//
// The slots are released when next returns: normally, by panicking (the
// panic goes on after the release, and the credits are refunded like a 5xx;
// not for [http.ErrAbortHandler] after a status below 500 to a client that
// has gone away, httputil.ReverseProxy's abort when the client leaves during
// the body: that call was served, and stays charged), or after the client
// went away, which net/http reports by cancelling the request context; next
// must then return, as every handler must. Streaming responses
// ([http.Flusher]) keep their slot until next returns. A hijacked connection
// ([http.Hijacker], or [http.ResponseController] through Unwrap) keeps it only
// until next returns, even if the connection lives on in another goroutine.
//
// Unless [WithRefund5xx](false), a 5xx response gets its credits back; a
// handler that knows the real cost settles it with [ReportCost].
//
// New returns an error for a nil next, l or costs, a bad option, or a cost table
// naming an API class that l's default plan has no sub-concurrency cap for
// or a route of more units than any store takes (store.MaxUnits; a route
// of more units than the default plan's cap is legal, for tenants whose
// plans allow more, and gets the 403 by [ByUnits] under the others).
func New(next http.Handler, l *limiter.Limiter, costs *cost.Table, opts ...Option) (http.Handler, error) {
	switch {
	case next == nil:
		return nil, ErrNilHandler
	case l == nil:
		return nil, ErrNilLimiter
	case costs == nil:
		return nil, ErrNilCosts
	}
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := costs.CheckClasses(l.Plan("").SubConcurrency); err != nil {
		return nil, fmt.Errorf("middleware: %w", err)
	}
	if err := costs.CheckUnits(store.MaxUnits); err != nil {
		return nil, fmt.Errorf("middleware: %w", err)
	}
	if err := checkShadowRoutes(cfg.shadow, costs); err != nil {
		return nil, err
	}
	h := &handler{next: next, l: l, costs: costs, cfg: cfg, statsKeys: l.UsesCallers()}
	for _, rt := range costs.Routes() {
		h.readsBodies = h.readsBodies || rt.Pricer.MaxBody > 0
	}
	if h.budget = cfg.budget; h.budget == nil {
		h.budget = newPricingBudget(DefaultPricingBudget)
	}
	return h, nil
}

// checkShadowRoutes refuses shadow patterns the cost table does not have: a
// typo would otherwise leave the route it meant enforcing.
func checkShadowRoutes(shadow map[string]bool, costs *cost.Table) error {
	if len(shadow) == 0 {
		return nil
	}
	known := map[string]bool{"": true} // the default route
	for _, r := range costs.Routes() {
		known[r.Pattern] = true
	}
	var unknown []string
	for p := range shadow {
		if !known[p] {
			unknown = append(unknown, p)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("%w: shadow routes not in the cost table: %q", ErrBadOption, unknown)
	}
	return nil
}

// Counters are the decisions of one handler, updated atomically (see
// [WithCounters]).
type Counters struct {
	Admitted      atomic.Int64 // requests passed to the wrapped handler with a slot
	Refused       atomic.Int64 // refusals sent: 429s, and 403s for a cost above the pool or units above the cap
	ShadowRefused atomic.Int64 // refusals let through by shadow mode
	CostErrors    atomic.Int64 // unpriceable requests (400/413, or passed on in shadow mode)
	KeyErrors     atomic.Int64 // tenant or application keys too long (400, or passed on in shadow mode)
	BudgetRefused atomic.Int64 // 503s sent: the pricing budget was spent (WithPricingBudget)
	Refunded      atomic.Int64 // admitted requests refunded whole (5xx, panic)
	Settled       atomic.Int64 // admitted requests settled through ReportCost
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cfg := h.cfg
	now := h.now()
	// Pricing without the body: a body-priced route gives its least price
	// and its body limit, so that what can be refused unread is (issue #13).
	price, err := h.costs.Match(r)
	if err == nil && price.MaxBody > 0 && r.ContentLength > price.MaxBody {
		err = &cost.BodyTooLargeError{Limit: price.MaxBody}
	}
	if err != nil {
		h.unpriced(w, r, price, err)
		return
	}
	// The key functions run once per request: the application is reused
	// below for the refusal log.
	tenant, app, user := cfg.parties(r, h.statsKeys)
	if len(tenant) > cfg.maxKey || len(app) > cfg.maxKey {
		h.keyTooLong(w, r, price.Pattern, len(tenant) > cfg.maxKey)
		return
	}
	var ip string
	if h.statsKeys {
		user, ip = cfg.shortKey(user), cfg.shortKey(cfg.keys.IP(r))
	}
	req := limiter.Request{
		Tenant:  tenant,
		App:     app,
		User:    user,
		IP:      ip,
		Module:  cfg.shortKey(price.Module),
		Method:  cfg.shortKey(r.Method),
		Credits: price.Credits,
		Class:   price.Class,
		Units:   price.Units,
	}
	var d limiter.Decision
	ticket := h.l.AcquireTo(now, &req, &d)
	if !d.Allowed {
		h.refused(w, r, now, d, price, app)
		return
	}
	if price.MaxBody > 0 && hasBody(r) {
		// Slots and the least price are held: now the body may be read.
		var ok bool
		if r, ok = h.priceBody(w, r, now, &price, &req, &ticket, &d); !ok {
			return
		}
	}
	h.admitted(w, r, now, ticket, &d)
}

// admitted serves an admitted request: the limit headers, then next, with
// the slots released when it returns or panics.
func (h *handler) admitted(w http.ResponseWriter, r *http.Request, now time.Time, ticket limiter.Ticket, d *limiter.Decision) {
	cfg := h.cfg
	if cs := cfg.counters; cs != nil {
		cs.Admitted.Add(1)
	}
	// One allocation holds the writer next gets, the settle state and the
	// header values that are not cached. The deferred finish comes first so
	// that nothing after the admission can leak the slots.
	st, big := newReqState(cfg.headers.ietf)
	st.ticket = ticket
	defer h.finish(st, r)
	st.ResponseWriter = w
	// A decision that read no pool (Limit 0: a shared store out of reach
	// admitting alone) has no figures to show: a client would take them
	// for the pool's.
	if hdr, s := w.Header(), stateOf(d, 0); s.limit > 0 {
		writeAdmitted(hdr, &cfg.headers, &h.values, now, s, &st.vals)
		if big != nil {
			writeAdmittedIETF(hdr, &cfg.headers, &h.values, now, s, &big.ietf)
		}
	}
	// next gets r itself (a copy only if its body was priced): ReportCost
	// finds st through the writer, so the request needs no wrapped context.
	h.next.ServeHTTP(st, r)
	st.returned = true
}

// refused answers a refusal: 429, or in shadow mode the wrapped handler.
func (h *handler) refused(w http.ResponseWriter, r *http.Request, now time.Time, d limiter.Decision, price cost.Price, app string) {
	cfg := h.cfg
	shadow := cfg.shadowAll || cfg.shadow[price.Pattern]
	h.noteRefusal(r, app, d, price, shadow)
	if !shadow {
		h.refuse(w, now, d, price)
		return
	}
	if cfg.shadowHdrs && describesPool(&d) {
		writeLimitHeaders(w.Header(), &cfg.headers, now, stateOf(&d, 0), nil)
	}
	h.next.ServeHTTP(w, r)
}

// now reads the handler's clock: WithClock's, else the limiter's.
func (h *handler) now() time.Time {
	if h.cfg.now != nil {
		return h.cfg.now()
	}
	return h.l.Now()
}

// stateOf turns a decision into what the headers say; the add-on credits
// are those of the plan the store decided under (the decision's AddOns,
// not what limiter.Limiter.AddOns answers now).
func stateOf(d *limiter.Decision, retry time.Duration) limitState {
	return limitState{limit: d.Limit, remaining: d.Remaining, reset: d.Reset, window: d.Window, retryAfter: retry,
		used: d.Used, addOns: d.AddOns}
}

// finish runs deferred, once next has returned or panicked: it settles the
// ticket and releases the slots. A panic goes on unchanged. One with
// http.ErrAbortHandler after next wrote a status below 500, to a client
// that has gone away (r's context is cancelled, as net/http cancels it when
// the client closes or a write to it fails), is a served call, not a
// failure: httputil.ReverseProxy aborts so when it cannot copy the
// upstream's body to a client that left, and refunding it would make a
// call free for any client that closes the connection early. Such a panic
// is recovered only to read it, and raised again once the call is settled.
// (In finish itself, not a wrapper: recover works only in the deferred
// function, and a wrapper cost a call on every admitted request.)
func (h *handler) finish(st *reqState, r *http.Request) {
	var again any // the panic recovered, raised again once settled
	if !st.returned && st.status != 0 && st.status < 500 && r.Context().Err() != nil {
		if again = recover(); again != nil {
			st.returned = again == http.ErrAbortHandler
		}
	}
	rep := st.report.Swap(reportClosed) // a later ReportCost reports false
	failed := !st.returned || (st.statusOrOK() >= 500 && !st.hijacked)
	switch {
	case failed && h.cfg.refund5xx:
		st.ticket.Settle(h.now(), 0)
		if cs := h.cfg.counters; cs != nil {
			cs.Refunded.Add(1)
		}
	case rep < 0:
		st.ticket.Settle(h.now(), ^rep)
		if cs := h.cfg.counters; cs != nil {
			cs.Settled.Add(1)
		}
	}
	st.ticket.Release()
	if again != nil {
		panic(again)
	}
}

// describesPool reports whether refusal d says what the pool holds: not
// when no pool was reached (a full store: Limit 0), nor when the store
// could not decide (it reports the plan's size, but read no use: a
// Remaining of 0 there is no figure, and a client reconciling with it
// would book the whole pool as spent).
func describesPool(d *limiter.Decision) bool {
	return d.Limit > 0 && d.Reason != limiter.ReasonUnavailable
}

// byReason maps a refusal reason to details.by.
func byReason(reason limiter.Reason) string {
	switch reason {
	case limiter.ReasonConcurrency:
		return ByConcurrency
	case limiter.ReasonSubConcurrency:
		return BySubConcurrency
	case limiter.ReasonTenants:
		return ByTenants
	case limiter.ReasonUnavailable:
		return ByUnavailable
	default:
		return ByCredits
	}
}

func (h *handler) noteRefusal(r *http.Request, app string, d limiter.Decision, price cost.Price, shadow bool) {
	cfg := h.cfg
	if cs := cfg.counters; cs != nil {
		if shadow {
			cs.ShadowRefused.Add(1)
		} else {
			cs.Refused.Add(1)
		}
	}
	if cfg.logger != nil {
		msg := "middleware: request refused"
		if shadow {
			msg = "middleware: request would be refused (shadow mode)"
		}
		cfg.logger.LogAttrs(r.Context(), slog.LevelInfo, msg,
			slog.String("reason", d.Reason.String()),
			slog.String("route", price.Pattern),
			slog.String("app", app),
			slog.Int64("cost", price.Credits),
			slog.Int64("remaining", d.Remaining),
			slog.Duration("retry_after", d.RetryAfter))
	}
	if cfg.onDecision != nil {
		cfg.onDecision(r, d, shadow)
	}
}

func (h *handler) refuse(w http.ResponseWriter, now time.Time, d limiter.Decision, price cost.Price) {
	if limit := exceededLimit(&d); limit > 0 {
		h.refuseNever(w, now, &d, Refusal{By: ByCost, Class: price.Class, Cost: price.Credits,
			Limit: limit, Remaining: max(d.Remaining, 0)})
		return
	}
	if limit := exceededCap(&d, price.Units); limit > 0 {
		h.refuseNever(w, now, &d, Refusal{By: ByUnits, Class: price.Class, Cost: price.Credits,
			Units: price.Units, Limit: limit})
		return
	}
	// A 429 always tells the client when to come back, at least one second on.
	retry := max(d.RetryAfter, time.Nanosecond)
	hdr := w.Header()
	sc := new(refusalScratch) // header values and body in one allocation
	reset := d.Reset
	if describesPool(&d) {
		s := stateOf(&d, retry)
		var slot slotLimit
		if h.cfg.headers.ietf && slotOf(&slot, &d) {
			s.slot = &slot
		}
		writeLimitHeaders(hdr, &h.cfg.headers, now, s, &sc.hdr)
	} else { // no pool was reached or read: no pool headers describe one
		hdr.Set("Retry-After", strconv.FormatInt(ceilSeconds(retry), 10))
		reset = time.Time{}
	}
	h.writeRefusal(w, sc, http.StatusTooManyRequests, Refusal{
		By: byReason(d.Reason), Class: price.Class, Cost: price.Credits, Limit: d.Limit,
		Remaining: max(d.Remaining, 0), Reset: reset, RetryAfter: retry,
	})
}

// slotOf fills sl with the slot cap that refused d, if a slot cap did (the
// decision's Cap, the store's): the IETF fields of a concurrency 429 name
// that policy, whose Retry-After is a second, not the credits' (see
// appendRateLimits).
func slotOf(sl *slotLimit, d *limiter.Decision) bool {
	switch d.Reason {
	case limiter.ReasonConcurrency:
		sl.name = ByConcurrency
	case limiter.ReasonSubConcurrency:
		sl.name = BySubConcurrency
	default:
		return false
	}
	sl.limit = d.Cap
	return sl.limit > 0
}

// exceededLimit returns the limit that credits refusal d's cost exceeds,
// 0 if none: the pool's size, or that of a smaller window of a compound
// plan (a burst of 10 credits a second beside a day's pool), as the store
// says in the decision's Exceeds, from the plan it enforces. No wait admits
// such a call (the window package's ErrExceedsLimit), so it is not told to
// come back. A body-priced request refused when it reserves the rest of
// its price needs no case of its own: the store's Exceeds of a Settle is of
// the lease's whole charge, the least price it holds plus the rest. A
// refusal that read no pool (Limit 0: a shared store out of reach deciding
// alone) is a 429, with no pool headers.
func exceededLimit(d *limiter.Decision) int64 {
	if d.Reason != limiter.ReasonCredits || d.Limit <= 0 {
		return 0
	}
	return d.Exceeds
}

// exceededCap returns the concurrency cap that concurrency refusal d of a
// call of units exceeds, 0 if none: the refusing cap (the decision's Cap,
// the plan's the store decided under), or store.MaxUnits, more than which
// no store takes. No release makes room for such a call (a Zoho table's
// composite of 5 under a plan capped at 3), so it is not told to come back.
func exceededCap(d *limiter.Decision, units int64) int64 {
	if d.Reason != limiter.ReasonConcurrency || units <= 1 {
		return 0
	}
	limit := int64(store.MaxUnits)
	if d.Cap > 0 {
		limit = min(d.Cap, limit)
	}
	if units > limit {
		return limit
	}
	return 0
}

// refuseNever answers a call no wait admits, f (by ByCost: it costs more
// than a limit of the pool; by ByUnits: it takes more units than the
// concurrency cap): 403 (as Shopify refuses a query above its bucket's
// maximum), with the limit headers (none if the store read no pool, as
// for a 429) but no Retry-After, since no time admits it.
func (h *handler) refuseNever(w http.ResponseWriter, now time.Time, d *limiter.Decision, f Refusal) {
	sc := new(refusalScratch)
	if describesPool(d) { // a store that read no pool (Limit 0) knows no figures
		writeLimitHeaders(w.Header(), &h.cfg.headers, now, stateOf(d, 0), &sc.hdr)
	}
	h.writeRefusal(w, sc, http.StatusForbidden, f)
}

// writeRefusal sends refusal f with status, its body in sc.
func (h *handler) writeRefusal(w http.ResponseWriter, sc *refusalScratch, status int, f Refusal) {
	bodies := h.cfg.bodies
	setErrorHeaders(w.Header(), &sc.json, bodies.ContentType())
	body := bodies.AppendRefusal(sc.body[:0], f)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// refusalScratch is the memory of one 429: its limit header values and its
// body (which fits unless a class name is very long; it then grows).
type refusalScratch struct {
	hdr  headerScratch
	json errorHeaderValues
	body [320]byte
}

func (h *handler) noteCostError(r *http.Request, err error) {
	if cs := h.cfg.counters; cs != nil {
		cs.CostErrors.Add(1)
	}
	if h.cfg.logger != nil {
		h.cfg.logger.LogAttrs(r.Context(), slog.LevelInfo, "middleware: request cost not computable",
			slog.String("error", err.Error()))
	}
}

func (h *handler) costError(w http.ResponseWriter, r *http.Request, err error) {
	h.noteCostError(r, err)
	// The error text may quote the body; the client gets a fixed sentence.
	f := Failure{Status: http.StatusBadRequest, Detail: "the request cost could not be computed from its body"}
	if tooLarge, ok := errors.AsType[*cost.BodyTooLargeError](err); ok {
		f = Failure{Status: http.StatusRequestEntityTooLarge, By: ByBody, Limit: tooLarge.Limit,
			Detail: "the request body is larger than the server reads to price it"}
	} else if errors.Is(err, cost.ErrAmbiguousMethod) {
		f.Detail = "the request's method override headers name more methods than it is priced for"
	} else if errors.Is(err, cost.ErrClassConflict) {
		f.Detail = "the request may reach routes in different API classes"
	} else if tooLarge, ok := errors.AsType[*http.MaxBytesError](err); ok {
		// An http.MaxBytesReader around the body (a handler's or a server's
		// bound, tighter than the cost function's) is the same refusal.
		f = Failure{Status: http.StatusRequestEntityTooLarge, By: ByBody, Limit: tooLarge.Limit,
			Detail: "the request body is larger than the server accepts"}
	}
	writeFailure(w, h.cfg.bodies, f)
}
