package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"
)

// send sends batch b as one call and answers its callers.
func (bt *batcher) send(b *batch) {
	defer bt.s.sends.Done()
	ctx, cancel, live := bt.prepare(b)
	defer cancel()
	var resp *http.Response
	defer func() {
		if v := recover(); v != nil {
			bt.recovered(b, resp, v)
		}
		bt.s.finish(b) // also after a panic, or the batches behind b would never go
	}()
	var cost int64
	err := errBatchEmpty
	if len(live) > 0 {
		resp, cost, err = bt.call(ctx, b, live)
		if b.write { // its callers' own invalidation came when they left, if they did
			bt.t.save.invalidate(b.inval, b.invMod)
		}
	}
	bt.deliver(b, resp, cost, err)
}

// recovered answers the callers of batch b that deliver had not answered
// with panic v, after closing the answer resp (if any), which gives its
// slots back. A call that panicked gave its admission back (call.send).
func (bt *batcher) recovered(b *batch, resp *http.Response, v any) {
	stack := debug.Stack()
	err := fmt.Errorf("%w: %v\n%s", ErrBatchPanic, v, stack)
	if e, ok := v.(error); ok {
		err = fmt.Errorf("%w: %w\n%s", ErrBatchPanic, e, stack)
	}
	if resp != nil {
		closeAfterPanic(resp.Body) // its Close may panic too
	}
	bt.s.mu.Lock()
	recs := b.sent
	if !b.sealed {
		recs = b.live()
	}
	bt.s.mu.Unlock()
	for _, p := range recs {
		select {
		case p.res <- batchResult{err: err}:
		default: // answered before the panic (res holds one answer)
		}
	}
}

// prepare returns the batch's context: the first caller's values, no
// cancellation of its own, and the latest of the callers' deadlines (none
// if one has none); it is cancelled if every caller leaves before the call
// is sent.
func (bt *batcher) prepare(b *batch) (context.Context, context.CancelFunc, []*pending) {
	bt.s.mu.Lock()
	defer bt.s.mu.Unlock()
	live := b.live()
	var latest time.Time
	for _, p := range live {
		dl, ok := p.ctx.Deadline()
		if !ok {
			latest = time.Time{}
			break
		}
		if dl.After(latest) {
			latest = dl
		}
	}
	var ctx context.Context
	var cancel context.CancelFunc
	if latest.IsZero() {
		ctx, cancel = context.WithCancel(context.WithoutCancel(b.ctx0))
	} else {
		ctx, cancel = context.WithDeadline(context.WithoutCancel(b.ctx0), latest)
	}
	b.cancel = cancel
	return ctx, cancel, live
}

// call prices and sends the batch of live records; the call's price may
// drop if callers leave before it is sent (seal). cost is what it spent.
func (bt *batcher) call(ctx context.Context, b *batch, live []*pending) (*http.Response, int64, error) {
	req := b.tmpl.WithContext(ctx)
	setBody(req, bt.body(b, live))
	price, err := bt.t.costs.Lookup(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrPrice, err)
	}
	c := call{t: bt.t, it: b.lane.it, req: req, price: price, failFast: b.failFast, internal: true,
		seal: &sealer{bt: bt, b: b, priced: len(live)}}
	resp, err := c.run()
	return resp, c.price.Credits, err
}

func (bt *batcher) body(b *batch, recs []*pending) []byte {
	raws := make([][]byte, len(recs))
	for i, p := range recs {
		raws[i] = p.rec.raw
	}
	return batchBody(bt.rule.Member, b.rest, raws)
}

func setBody(r *http.Request, body []byte) {
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r.ContentLength = int64(len(body))
	r.Header.Del("Content-Length")
}

// sealer is the last step of a batch's call before it is sent.
type sealer struct {
	bt     *batcher
	b      *batch
	priced int // records in the body priced
}

// seal runs once the batch's call is admitted, right before it is sent:
// from then on its records are sent, and callers that left before are
// taken out of r's body and of its price, which can only drop.
func (s *sealer) seal(r *http.Request, credits int64) (int64, error) {
	bt, b := s.bt, s.b
	bt.s.mu.Lock()
	if b.sealed {
		bt.s.mu.Unlock()
		return credits, nil // a retry sends the same records
	}
	b.sealed = true
	b.sent = b.live()
	live := b.sent
	bt.s.mu.Unlock()
	if len(live) == 0 {
		return credits, errBatchEmpty
	}
	if len(live) == s.priced {
		return credits, nil
	}
	setBody(r, bt.body(b, live))
	if p, err := bt.t.costs.Lookup(r); err == nil && p.Credits < credits {
		return p.Credits, nil
	}
	return credits, nil
}

// deliver answers the batch's callers: each its record's result, or every
// one the failure of the whole call.
//
// The call was sent as its first caller's (b.recs[0], whose request is the
// template: its headers and context), and only that caller gets what the
// answer says to one call alone (ownHeaders: the cookies it sets); the
// others get the rest.
func (bt *batcher) deliver(b *batch, resp *http.Response, cost int64, err error) {
	bt.s.mu.Lock()
	recs := b.sent
	if !b.sealed {
		recs = b.live() // never sent: the error says so
	}
	first := b.recs[0]
	bt.s.mu.Unlock()
	if err != nil {
		for _, p := range recs {
			p.res <- batchResult{err: err}
		}
		return
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBatchAnswer+1))
	_ = resp.Body.Close()
	results, others, ok := splitResults(body, bt.rule.Member, len(recs))
	switch st := resp.StatusCode; {
	case rerr == nil && ok && (st == 200 || st == 201 || st == 207 || st == 400):
		var alone int64
		for _, p := range recs {
			alone += p.price
		}
		// Counted before the callers hear: what they read next includes it.
		bt.t.saved(b.lane.it, Batched, int64(len(recs)-1), alone-cost, b.module, bt.t.clock.Now())
		for i, p := range recs {
			p.res <- batchResult{resp: bt.oneResponse(resp, results[i], i, others, p, p == first)}
		}
	case rerr != nil || len(body) > maxBatchAnswer || st < 300:
		e := fmt.Errorf("%w (status %d, %d records)", ErrBatchAnswer, st, len(recs))
		for _, p := range recs {
			p.res <- batchResult{err: e}
		}
	default:
		resp.Body = io.NopCloser(bytes.NewReader(body))
		snap, _ := readWhole(resp, int64(len(body)), false)
		for _, p := range recs {
			r := snap.response(p.req) // headers cloned
			if p != first {
				dropOwnHeaders(r.Header)
			}
			p.res <- batchResult{resp: r}
		}
	}
}

// oneResponse is the answer to the one-record call of p, the i-th record;
// first says whether the batch was sent as p's call.
func (bt *batcher) oneResponse(resp *http.Response, result json.RawMessage, i int, others map[string]json.RawMessage, p *pending, first bool) *http.Response {
	body := oneRecord(bt.rule.Member, result, i, others)
	st := http.StatusBadRequest
	if succeeded(result) {
		st = resp.StatusCode
		if st != http.StatusOK && st != http.StatusCreated {
			st = bt.success(p.req.Method)
		}
	}
	h := resp.Header.Clone()
	h.Del("Content-Length")
	if !first {
		dropOwnHeaders(h)
	}
	return &http.Response{Status: strconv.Itoa(st) + " " + http.StatusText(st), StatusCode: st,
		Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor, Header: h,
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: p.req, TLS: resp.TLS}
}

// success is a succeeded record's status when the batch answered 207.
func (bt *batcher) success(method string) int {
	switch {
	case bt.rule.Success != 0:
		return bt.rule.Success
	case method == http.MethodPost:
		return http.StatusCreated
	}
	return http.StatusOK
}

// waitSends waits for the batches being sent, or for ctx.
func (s *saver) waitSends(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.batching.sends.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
