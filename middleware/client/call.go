package client

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
)

// call is one RoundTrip: its attempts share the integration, the price and
// the retry state.
type call struct {
	t        *Transport
	it       *integration
	req      *http.Request
	price    cost.Price
	failFast bool
	attempt  int
	// For a retry: when (Unix ns) the budget was taken for it, how much,
	// and the status it retries; the budget is taken again when it is sent
	// (budget.move).
	decided  int64
	reserved int64
	status   int
	where    *frame // where RoundTrip was called from, with body tracking
	internal bool   // a batch's call: its callers were counted as requests
	// seal, for a batch's call, runs once it is admitted, before each
	// attempt is sent: it may lower its price (the admission then settles
	// to it) or fail it, which is then refunded and not sent. A concrete
	// type, not a func: the call stays on its caller's stack.
	seal *sealer
	// fl is the flight this call leads (coalescing), told in the gate
	// what the call waits for; nil if none.
	fl *flight
	// back is when a retry decided on a credits refusal goes (the end of
	// its Retry-After), told to fl while the call sleeps; zero otherwise.
	back time.Time
}

// run sends the call, retrying refusals and failures as the policy allows.
// It is counted as a request when it returns: by hold if it returns a held
// body, else by fail.
func (c *call) run() (*http.Response, error) {
	t, ctx := c.t, c.req.Context()
	if t.track != nil {
		c.where = callerFrame()
	}
	for {
		// Admitted at once when nobody waits for anything c needs, the call
		// sends at the time it was admitted at (see send); else it waits in
		// the gate.
		var a admission
		var r refusal
		var at time.Time
		if t.gate.shared.Load() == 0 && c.it.waiting.Load() == 0 {
			var now time.Time // t.now(), inline: one call fewer
			if t.wall {
				now = t.l.Now()
			} else {
				now = t.clock.Now()
			}
			if t.try(now, c, &r, &a) {
				at = now
			} else if err := t.admit(ctx, c, &r, &a); err != nil {
				closeBody(c.req)
				return c.fail(err)
			}
		} else if err := t.admit(ctx, c, nil, &a); err != nil {
			closeBody(c.req)
			return c.fail(err)
		}
		resp, sent, now, err := c.send(&a, at)
		if err != nil {
			return c.fail(err)
		}
		if resp.StatusCode == http.StatusTooManyRequests ||
			resp.StatusCode == http.StatusForbidden && peekFields(resp).never() {
			// A refusal (429, or 403 by "cost" or "units": a call above
			// the server's whole pool or its concurrency cap): the server
			// took none of its credits, and its
			// limit headers say what is left without them. Refunded
			// before they are read, or the pool would end that much above
			// the server's figure. (A 5xx's headers count the call, which
			// the server refunds after them: refunded after.)
			a.left += a.cost
			a.refund(t, now)
		}
		var v view
		if t.due(now, resp.StatusCode) {
			v = serverView(now, resp.Header)
			t.reconcile(now, sent, &v, a.left)
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			c.it.c.throttled.Add(1)
		}
		var d time.Duration
		retry := false
		if resp.StatusCode >= http.StatusTooManyRequests { // below, next says no retry
			d, retry, err = c.decide(&a, resp, &v, now)
		} else if resp.StatusCode == http.StatusForbidden {
			err = c.aboveCap(resp)
		}
		if !retry && err == nil {
			// A 5xx, like a 429, is the server's failure: refunded, as the
			// server's middleware refunds it.
			if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
				a.refund(t, now)
			} else if c.price.Credits < a.cost {
				a.settle(t, now, c.price.Credits)
			}
			if a.cost > 0 && c.it.quotaKey != "" && a.quota == (limiter.Ticket{}) {
				t.unmetered(now, &a) // admitted before the quota had a size
			}
			return t.hold(resp, &a, c), nil
		}
		a.done(t, now, true)
		discard(resp.Body)
		if err != nil {
			closeBody(c.req)
			return c.fail(err)
		}
		t.gate.sleeping(c, true)
		err = sleep(ctx, t.clock, d)
		t.gate.sleeping(c, false)
		if err != nil {
			closeBody(c.req)
			return c.fail(err)
		}
		if err := c.replay(); err != nil {
			return c.fail(err)
		}
		c.attempt++
		c.it.c.retries.Add(1)
	}
}

// fail returns err for a call that ends with no response, counted as a
// request.
func (c *call) fail(err error) (*http.Response, error) {
	if c.reserved > 0 {
		// A retry decided but not sent (its wait, its replay or its
		// admission failed): the budget counts retries sent.
		c.t.budget.unreserve(c.decided, c.reserved)
		c.reserved = 0
	}
	c.ended()
	return nil, err
}

// ended counts a call that returns no held body as a request (a batch's
// call is not one: its callers were counted).
func (c *call) ended() {
	if !c.internal {
		c.it.c.requests.Add(1)
	}
}

// send sends one attempt of the admitted call, after its seal. On an
// error the admission is refunded and released. at is when the call was
// admitted if it was admitted at once (zero if it waited): with no seal to
// run it is the send time, nothing but the admission's own bookkeeping
// having run since, as if the clock had not moved between two reads; a
// call that waited or ran a seal reads the clock again.
func (c *call) send(a *admission, at time.Time) (resp *http.Response, sent, now time.Time, err error) {
	t := c.t
	if c.seal != nil {
		credits, err := c.seal.seal(c.req, c.price.Credits)
		if err != nil {
			a.done(t, t.clock.Now(), true)
			closeBody(c.req)
			return nil, sent, now, err
		}
		c.price.Credits = credits
		at = time.Time{}
	}
	if sent = at; sent.IsZero() {
		sent = t.now()
	}
	n := c.reserved // taken again by move, or given back by it
	c.reserved = 0
	if c.attempt == 0 {
		t.budget.first(sent, max(c.price.Credits, 1))
	} else if !t.budget.move(c.decided, sent, n) {
		// Its Retry-After and its wait for admission took it past the
		// first attempts that paid for it: the budget counts retries sent.
		a.done(t, sent, true)
		closeBody(c.req)
		e := &LimitError{Integration: c.it.Name, Reason: ReasonRetryBudget, Status: c.status}
		t.refused(c, e)
		return nil, sent, sent, e
	}
	// A panic of the base transport goes on to the caller, who may recover
	// (net/http's server does): the admission is given back first, or its
	// slots would be lost for good. An open-coded defer: a flag at return.
	returned := false
	defer func() {
		if !returned {
			a.done(t, t.now(), true)
		}
	}()
	resp, err = t.base.RoundTrip(c.req)
	returned = true
	if t.wall { // t.now(), inline: one call fewer
		now = t.l.Now()
	} else {
		now = t.clock.Now()
	}
	if err != nil || resp == nil {
		if err == nil {
			err = errNoResponse // a base transport breaking the contract
		} else if resp != nil && resp.Body != nil {
			// Both a response and an error: the caller gets the error (as
			// net/http's client would), and nobody else sees this body.
			_ = resp.Body.Close()
		}
		// Most transport errors mean the call never reached the server;
		// if it did and was charged, the next headers say so.
		a.done(t, now, true)
		return nil, sent, now, err
	}
	return resp, sent, now, nil
}

// errNoResponse is the error of a call whose base transport returned
// neither a response nor an error.
var errNoResponse = errors.New("client: the base transport returned no response and no error")

// replay gives the next attempt a fresh copy of the request and its body.
func (c *call) replay() error {
	cp := *c.req
	if c.req.GetBody != nil {
		b, err := c.req.GetBody()
		if err != nil {
			return err
		}
		cp.Body = b
	}
	c.req = &cp
	return nil
}

// discard drains a little of a response body and closes it, so that the
// connection can be reused. A base transport may return no body at all.
func discard(b io.ReadCloser) {
	if b == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, b, 4<<10)
	_ = b.Close()
}

// idempotent methods may be sent twice (RFC 9110, 9.2.2).
func idempotent(m string) bool {
	switch m {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace,
		http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// idempotentOverride reports whether every method r's method override
// headers name (cost.OverrideMethods: a server may honour any) is
// idempotent: the server runs r as that method, as the cost table and the
// cache read it.
func idempotentOverride(r *http.Request) bool {
	ok := true
	cost.OverrideMethods(r, func(m string) bool {
		ok = idempotent(m)
		return ok
	})
	return ok
}

// replayable reports whether the call may be sent again.
func (c *call) replayable() bool {
	r := c.req
	if r.Body != nil && r.Body != http.NoBody && r.GetBody == nil {
		return false
	}
	if c.t.retry.NonIdempotent || idempotent(r.Method) && idempotentOverride(r) {
		return true
	}
	// A key with no value is none: the server has nothing to match the
	// second write with.
	return slices.ContainsFunc(r.Header["Idempotency-Key"], notBlank) ||
		slices.ContainsFunc(r.Header["X-Idempotency-Key"], notBlank)
}

// aboveCap returns the error that fails the call for a 403 by "units": it
// takes more of the server's concurrency cap than the cap holds, so it
// fails as Never, as a call above the client's own cap does (poolRefusal),
// rather than reaching a caller that would send it again. Nil for any
// other 403.
func (c *call) aboveCap(resp *http.Response) error {
	if !peekFields(resp).aboveUnits() {
		return nil
	}
	e := &LimitError{Integration: c.it.Name, Reason: ReasonConcurrency, Never: true, Status: resp.StatusCode}
	c.t.refused(c, e)
	return e
}

// decide is next, giving admission a back if it panics: classify reads
// the refusal's body, the base transport's. The panic goes on, as in send.
func (c *call) decide(a *admission, resp *http.Response, v *view, now time.Time) (time.Duration, bool, error) {
	returned := false
	defer func() {
		if !returned {
			a.done(c.t, c.t.now(), true)
		}
	}()
	d, retry, err := c.next(resp, v, now)
	returned = true
	return d, retry, err
}

// next decides what follows a response: no retry (return it), a retry after
// d, or an error (the client will not retry it: budget, deadline).
func (c *call) next(resp *http.Response, v *view, now time.Time) (d time.Duration, retry bool, err error) {
	p := &c.t.retry
	v.far(now, resp.Header)
	kind := kindNone
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		kind = classify(resp, v, c.price.Credits)
	case resp.StatusCode >= 500 && p.Retry5xx:
		kind = kindTransient
	}
	if kind == kindNone || c.attempt+1 >= p.MaxAttempts || !c.replayable() {
		return 0, false, nil
	}
	d, back := c.t.delay(kind, v, now, c.attempt)
	if kind == kindCredits && c.failFast {
		// It would wait for the pool's credits: a fail-fast call fails at
		// once instead, saying when they are back (if the server said).
		e := &LimitError{Integration: c.it.Name, Reason: ReasonCredits, RetryAt: back, Status: resp.StatusCode}
		c.t.refused(c, e)
		return 0, false, e
	}
	dl, hasDL := c.req.Context().Deadline()
	if hasDL && kind == kindCredits && (v.retryFar || !back.IsZero() && back.After(dl)) {
		e := &LimitError{Integration: c.it.Name, Reason: ReasonCredits, RetryAt: back,
			Deadline: true, Status: resp.StatusCode}
		c.t.refused(c, e)
		return 0, false, e
	}
	if hasDL && now.Add(d).After(dl) {
		return 0, false, nil // no time left to retry: the caller gets the response
	}
	n := max(c.price.Credits, 1)
	if !c.t.budget.allow(now, n) {
		e := &LimitError{Integration: c.it.Name, Reason: ReasonRetryBudget, Status: resp.StatusCode}
		c.t.refused(c, e)
		return 0, false, e
	}
	c.decided, c.reserved, c.status = now.UnixNano(), n, resp.StatusCode
	c.back = time.Time{}
	if kind == kindCredits {
		c.back = now.Add(d)
	}
	return d, true, nil
}
