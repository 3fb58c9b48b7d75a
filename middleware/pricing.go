package middleware

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
)

// DefaultPricingBudget is how many bytes of request bodies a handler holds
// for pricing at once, across all requests, unless [WithPricingBudget] says
// otherwise.
const DefaultPricingBudget = 64 << 20

// errBudgetSpent fails a read of a body being priced when the handler's
// pricing budget cannot hold more.
var errBudgetSpent = errors.New("middleware: pricing budget spent")

// errOverBudget fails a read of a body being priced that has reached the
// whole pricing budget: it can never be held, however idle the server.
var errOverBudget = errors.New("middleware: body larger than the pricing budget")

// budgetRetry is the Retry-After of a 503 for a spent budget: pricing takes as
// long as a client takes to send a body, and the budget frees as they end.
const budgetRetry = time.Second

// take takes n bytes if that many are free, without blocking.
func (b *PricingBudget) take(n int64) bool {
	for {
		f := b.free.Load()
		if f < n {
			return false
		}
		if b.free.CompareAndSwap(f, f-n) {
			return true
		}
	}
}

func (b *PricingBudget) give(n int64) { b.free.Add(n) }

// budgetBody is a request body being priced: every read first takes from the
// budget what the reader may then hold, its bytes so far plus the room it
// offers. That is what io.ReadAll, which cost functions use, holds while it
// reads (less the tails of its full chunks, under 1/16 of them); its copy
// into one slice at the end holds them twice for a moment. Once pricing ends
// (finish), budgetBody gives all back and reads pass through: the bytes are
// the handler's from then on.
type budgetBody struct {
	rc       io.ReadCloser
	budget   *PricingBudget
	held     int64 // bytes taken from budget
	read     int64 // bytes read while pricing
	finished bool
}

func (b *budgetBody) Read(p []byte) (int, error) {
	if b.finished {
		return b.rc.Read(p)
	}
	if total := b.budget.total; b.read+int64(len(p)) > total {
		// More than the whole budget can ever hold: offer less room, and
		// past the budget the body is too large to price, not a wait
		// (a 503 "retry soon" would be refused the same way forever).
		if b.read >= total {
			// A body of exactly the budget fits: one byte, outside the
			// budget, tells its end (io.ReadAll's last read) from more.
			if len(p) == 0 {
				return 0, nil
			}
			var one [1]byte
			n, err := b.rc.Read(one[:])
			if n > 0 {
				return 0, errOverBudget
			}
			return 0, err
		}
		p = p[:total-b.read]
	}
	if need := b.read + int64(len(p)); need > b.held {
		if !b.budget.take(need - b.held) {
			return 0, errBudgetSpent
		}
		b.held = need
	}
	n, err := b.rc.Read(p)
	b.read += int64(n)
	return n, err
}

func (b *budgetBody) Close() error { return b.rc.Close() }

func (b *budgetBody) finish() {
	if b.finished {
		return
	}
	b.finished = true
	b.budget.give(b.held)
	b.held = 0
}

// pricedRequest is the copy of a request whose body is being priced, and
// that body, in one allocation.
type pricedRequest struct {
	req  http.Request
	body budgetBody
}

// priceBody reads and prices the body of a request admitted at its route's
// least price, holding what it reads against the pricing budget, and
// reserves the rest of the price on the ticket, all or nothing. It returns
// the request next gets (a copy with the body put back), or false once it
// has answered: a body that cannot be priced (400, 413, or 503 for a spent
// budget) or a pool that cannot pay the rest (429); the ticket is then
// refused (refunded and released, and counted a refusal in the usage
// statistics, as if refused at admission). req is the request acquired,
// d becomes the decision of the whole price.
func (h *handler) priceBody(w http.ResponseWriter, r *http.Request, now time.Time, price *cost.Price, req *limiter.Request, ticket *limiter.Ticket, d *limiter.Decision) (*http.Request, bool) {
	least := price.Credits
	pr := &pricedRequest{req: *r, body: budgetBody{rc: r.Body, budget: h.budget}}
	pr.req.Body = &pr.body
	done := false  // the ticket is passed on, or refunded and released
	defer func() { // if the cost function panics
		pr.body.finish()
		if !done {
			ticket.Refuse(now, nil) // the call stays a call, refunded like a 5xx
		}
	}()
	err := h.costs.PriceBody(&pr.req, price)
	// Pricing has ended: its bytes go back to the budget before anything
	// else reads the body (next itself, for a shadow-mode refusal).
	pr.body.finish()
	if err != nil {
		// Refused before the answer: in shadow mode the answer is next,
		// which runs unmetered and must hold nothing.
		ticket.Refuse(now, req)
		done = true
		h.unpriced(w, &pr.req, *price, err)
		return nil, false
	}
	if extra := price.Credits - least; extra > 0 {
		rd := ticket.Reserve(now, extra)
		if !rd.Allowed {
			// Reported as the whole request's refusal, with the least
			// price refunded first (a shadow-mode next holds nothing).
			ticket.Refuse(now, req)
			done = true
			rd.Cost, rd.Remaining, rd.Used = price.Credits, rd.Remaining+d.Cost, rd.Used-d.Cost
			h.refused(w, &pr.req, now, rd, *price, req.App)
			return nil, false
		}
		cost := d.Cost + rd.Cost
		*d = rd
		d.Cost = cost
	}
	done = true
	return &pr.req, true
}

// hasBody reports whether r may have a body to read.
func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}

// unpriced answers a request whose price could not be computed.
func (h *handler) unpriced(w http.ResponseWriter, r *http.Request, price cost.Price, err error) {
	cfg := h.cfg
	if errors.Is(err, errBudgetSpent) {
		// Even in shadow mode: the limit under trial is not what refused,
		// the server's memory is, and the body is half read.
		h.budgetSpent(w, r)
		return
	}
	if errors.Is(err, errOverBudget) {
		// The same, but no wait frees room for it: 413, not 503.
		h.noteCostError(r, err)
		writeFailure(w, cfg.bodies, Failure{Status: http.StatusRequestEntityTooLarge, By: ByBody, Limit: h.budget.total,
			Detail: "the request body is larger than the server holds to price it"})
		return
	}
	if cfg.shadowAll || cfg.shadow[price.Pattern] {
		// Shadow mode refuses nothing, not even what it cannot price:
		// the request goes on unmetered, as if the middleware were absent.
		h.noteCostError(r, err)
		h.next.ServeHTTP(w, r)
		return
	}
	h.costError(w, r, err)
}

func (h *handler) budgetSpent(w http.ResponseWriter, r *http.Request) {
	if cs := h.cfg.counters; cs != nil {
		cs.BudgetRefused.Add(1)
	}
	if h.cfg.logger != nil {
		h.cfg.logger.LogAttrs(r.Context(), slog.LevelInfo, "middleware: pricing budget spent",
			slog.Int64("budget", h.budget.total))
	}
	writeFailure(w, h.cfg.bodies, Failure{Status: http.StatusServiceUnavailable, By: ByBodyBudget,
		RetryAfter: budgetRetry, Detail: "the server holds as many request bodies for pricing as it can"})
}
