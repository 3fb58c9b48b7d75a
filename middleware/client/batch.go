package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrBatchAnswer is wrapped by the error the callers of a batch get when
// its answer was a success without one result per record (or could not be
// read): whether their records were written is unknown.
var ErrBatchAnswer = errors.New("client: batch answer without one result per record")

// ErrBatchPanic is wrapped by the error the callers of a batch get when the
// base transport panicked sending it or reading its answer: the batch is
// sent on a goroutine of the Transport's own, where the panic could reach
// no caller and would end the process. Whether their records were written
// is unknown. The error holds the panic's value (wrapped, if an error) and
// stack.
var ErrBatchPanic = errors.New("client: the base transport panicked sending a batch")

// errBatchEmpty ends a batch whose callers all left before it was sent.
var errBatchEmpty = errors.New("client: batch emptied before it was sent")

// maxBatchAnswer bounds the answer of a batch that is read.
const maxBatchAnswer = 16 << 20

// batching is what the batchers of a Transport share: one lock, and the
// unanswered batches that hold each record (by token: module, field and
// value), oldest first. A batch is sent, on a goroutine of its own, once it
// is the oldest holder of each of its records, so that writes to one record
// go in the order they came, whatever their route, lane or integration.
type batching struct {
	mu      sync.Mutex // protects the fields below and those of every batcher's lanes, batches and pendings
	seq     uint64     // batches made
	holders map[string][]*batch
	closed  bool
	sends   sync.WaitGroup // batches being sent
}

// batcher collects the single-record writes of one route into batches (see
// BatchRule). Writes that may go together share a lane, whose open batch
// collects them.
type batcher struct {
	t        *Transport
	s        *batching
	rule     BatchRule // defaults filled
	ints     []bool
	maxBytes int64
	lanes    map[key]*lane // guarded by s.mu
}

type lane struct {
	it   *integration
	open *batch // collecting records, nil if none
	n    int    // unanswered batches
}

type batchState uint8

const (
	batchOpen    batchState = iota // collecting records
	batchSealed                    // waiting for an older batch that holds one of its records
	batchSending                   // on its goroutine
)

// batch is one call's worth of records.
type batch struct {
	bt      *batcher
	seq     uint64 // order of creation
	lane    *lane
	lk      key
	state   batchState
	recs    []*pending
	tokens  map[string]struct{}
	bytes   int64 // of the body so far
	opened  time.Time
	flushAt time.Time
	timer   Timer
	tmpl    *http.Request   // the first record's request, cloned
	ctx0    context.Context // the first record's context, for its values
	rest    []byte
	module  string
	// inval and invMod are what the batch's write drops from the cache once
	// answered, and write whether it counts as a write then (see
	// saver.write), also if its callers left meanwhile.
	inval    uint64
	invMod   string
	write    bool
	failFast bool
	cancel   context.CancelFunc // ends the call once every caller left
	sealed   bool               // sent: records can no longer leave
	sent     []*pending         // the records sent
}

// pending is one caller's record.
type pending struct {
	rec    record
	tokens []string // the record's, with its module
	req    *http.Request
	ctx    context.Context
	price  int64 // what its call would have cost alone
	b      *batch
	out    bool // its caller left before the batch was sent
	res    chan batchResult
}

type batchResult struct {
	resp *http.Response
	err  error
}

func (t *Transport) newBatcher(r BatchRule, ints []bool) (*batcher, error) {
	bad := func(field string, v any) (*batcher, error) {
		return nil, fmt.Errorf("%w: batching rule %q: %s %v", ErrConfig, r.Route, field, v)
	}
	if r.MaxRecords < 0 || r.MaxBytes < 0 || r.Window < 0 || r.Success != 0 && (r.Success < 200 || r.Success > 299) {
		return bad("limits", fmt.Sprintf("%d records, %d bytes, window %v, success %d", r.MaxRecords, r.MaxBytes, r.Window, r.Success))
	}
	if r.Member == "" {
		r.Member = "data"
	}
	r.MaxRecords = orDefault(r.MaxRecords, DefaultBatchRecords)
	if r.Window == 0 {
		r.Window = DefaultBatchWindow
	}
	if r.KeyFields == nil {
		r.KeyFields = []string{"id"}
	}
	bt := &batcher{t: t, rule: r, ints: ints, maxBytes: orDefault(r.MaxBytes, DefaultBatchBytes), lanes: map[key]*lane{}}
	if t.save.batching.holders == nil {
		t.save.batching.holders = map[string][]*batch{}
	}
	bt.s = &t.save.batching
	for _, rt := range t.costs.Routes() {
		if rt.Pattern == r.Route && rt.Pricer.MaxBody > 0 {
			bt.maxBytes = min(bt.maxBytes, rt.Pricer.MaxBody)
		}
	}
	return bt, nil
}

// roundTrip batches call c if its body holds one record, else sends it.
func (bt *batcher) roundTrip(c *call, o callOpts) (*http.Response, error) {
	r := c.req
	_, k1 := r.Header["Idempotency-Key"]
	_, k2 := r.Header["X-Idempotency-Key"]
	if r.Body == nil || r.Body == http.NoBody || k1 || k2 || bt.ints != nil && !bt.ints[c.it.idx] || bodyBound(r) {
		return c.run()
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, bt.maxBytes+1))
	if err != nil || int64(len(body)) > bt.maxBytes {
		r.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(body), errOr(err, r.Body)), c: r.Body}
		return c.run()
	}
	rec, ok := parseSingle(body, bt.rule.Member, bt.rule.KeyFields)
	if !ok {
		r.Body = &replayBody{Reader: bytes.NewReader(body), c: r.Body}
		return c.run()
	}
	closeBody(r)
	ff := o.failFast || c.it.FailFast
	lk := requestKey(r, func(l string) bool { return !laneIgnored(l) }, c.it.Name, string(rec.rest), strconv.FormatBool(ff))
	p := &pending{rec: rec, req: r, ctx: r.Context(), price: c.price.Credits, res: make(chan batchResult, 1)}
	module := moduleOf(r, &c.price)
	for _, tk := range rec.tokens {
		p.tokens = append(p.tokens, module+"\x00"+tk)
	}
	c.it.c.requests.Add(1)
	if err := bt.add(lk, c, ff, p); err != nil {
		return nil, err
	}
	return bt.await(p)
}

// bodyBound reports whether r's headers bind the bytes of its body: a
// digest (Content-MD5, Digest, Content-Digest, X-Amz-Content-Sha256) or a
// signature (a header named so, or an Authorization that carries one, as
// AWS's SigV4 does). A batch writes the body anew, which would break them.
func bodyBound(r *http.Request) bool {
	for name, vs := range r.Header {
		l := strings.ToLower(name)
		if l == "content-md5" || strings.Contains(l, "digest") || strings.Contains(l, "signature") ||
			strings.Contains(l, "content-sha") {
			return true
		}
		if l == "authorization" && slices.ContainsFunc(vs, func(v string) bool { return strings.Contains(strings.ToLower(v), "signature=") }) {
			return true
		}
	}
	return false
}

// add puts p in its lane's open batch, or in a new one if it does not fit
// there (full, too large, or holding one of its records, or older than a
// batch that does), and schedules the flush.
func (bt *batcher) add(lk key, c *call, ff bool, p *pending) error {
	now := bt.t.clock.Now()
	s := bt.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errStopped
	}
	ln := bt.lanes[lk]
	if ln == nil {
		ln = &lane{it: c.it}
		bt.lanes[lk] = ln
	}
	b := ln.open
	if b == nil || !bt.fits(b, p) {
		if b != nil {
			s.flushLocked(b)
		}
		s.seq++
		b = &batch{bt: bt, seq: s.seq, lane: ln, lk: lk, tokens: map[string]struct{}{}, opened: now,
			tmpl: p.req.Clone(context.Background()), ctx0: p.ctx, rest: p.rec.rest, module: moduleOf(p.req, &c.price),
			failFast: ff, bytes: int64(len(p.rec.rest) + len(bt.rule.Member) + 8)}
		// The batch's answer is read and split here: not in an encoding its
		// callers asked for (the base may still compress it on the wire, as
		// net/http does, reading it back for us).
		b.tmpl.Header.Del("Accept-Encoding")
		if sv := bt.t.save; sv.watch {
			_, b.inval, b.write = sv.match(p.req, &c.price)
			b.invMod = invalidated(p.req, &c.price)
		}
		ln.open = b
		ln.n++
	}
	p.b = b
	b.recs = append(b.recs, p)
	b.bytes += int64(len(p.rec.raw) + 1)
	for _, tk := range p.tokens {
		if _, ok := b.tokens[tk]; !ok { // a field named twice in KeyFields
			b.tokens[tk] = struct{}{}
			s.holders[tk] = append(s.holders[tk], b)
		}
	}
	bt.schedule(b, p, now)
	return nil
}

// fits reports whether p may join open batch b: room, and no batch as new
// as b or newer holds one of p's records.
func (bt *batcher) fits(b *batch, p *pending) bool {
	if len(b.recs) >= bt.rule.MaxRecords || b.bytes+int64(len(p.rec.raw)+1) > bt.maxBytes {
		return false
	}
	for _, tk := range p.tokens {
		if hs := bt.s.holders[tk]; len(hs) > 0 && hs[len(hs)-1].seq >= b.seq {
			return false
		}
	}
	return true
}

// schedule flushes b now if it is full or p's deadline is near, else arms
// its timer for the earliest flush time its records allow.
func (bt *batcher) schedule(b *batch, p *pending, now time.Time) {
	w := bt.rule.Window
	at := b.opened.Add(w)
	if dl, ok := p.ctx.Deadline(); ok && dl.Add(-w).Before(at) {
		at = dl.Add(-w)
	}
	if len(b.recs) >= bt.rule.MaxRecords || !at.After(now) {
		bt.s.flushLocked(b)
		return
	}
	if b.timer != nil && !at.Before(b.flushAt) {
		return
	}
	if b.timer != nil {
		b.timer.Stop()
	}
	b.flushAt = at
	b.timer = bt.t.clock.AfterFunc(at.Sub(now), func() {
		bt.s.mu.Lock()
		defer bt.s.mu.Unlock()
		if b.state == batchOpen {
			bt.s.flushLocked(b)
		}
	})
}

// flushLocked seals open batch b and sends it if it may go.
func (s *batching) flushLocked(b *batch) {
	b.state = batchSealed
	if b.lane.open == b {
		b.lane.open = nil
	}
	if b.timer != nil {
		b.timer.Stop()
	}
	s.startLocked(b)
}

// startLocked sends sealed batch b if it is the oldest holder of each of
// its records.
func (s *batching) startLocked(b *batch) {
	if b.state != batchSealed {
		return
	}
	for tk := range b.tokens {
		if s.holders[tk][0] != b {
			return
		}
	}
	b.state = batchSending
	s.sends.Add(1)
	go b.bt.send(b)
}

// await waits for p's result; a caller whose context ends before its batch
// is sent leaves it (its record is not sent), after that its record's fate
// is unknown to it, as with any call whose context ends in flight.
func (bt *batcher) await(p *pending) (*http.Response, error) {
	select {
	case r := <-p.res:
		return r.resp, r.err
	case <-p.ctx.Done():
	}
	bt.s.mu.Lock()
	if b := p.b; !b.sealed {
		p.out = true
		if b.cancel != nil && len(b.live()) == 0 {
			b.cancel() // nobody waits for it: stop waiting for admission
		}
	}
	bt.s.mu.Unlock()
	return nil, p.ctx.Err()
}

// live returns the records whose callers still wait.
func (b *batch) live() []*pending {
	out := make([]*pending, 0, len(b.recs))
	for _, p := range b.recs {
		if !p.out {
			out = append(out, p)
		}
	}
	return out
}

// finish forgets answered batch b and sends the batches it held back.
func (s *batching) finish(b *batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.lane.n--; b.lane.n == 0 {
		delete(b.bt.lanes, b.lk)
	}
	for tk := range b.tokens {
		hs := s.holders[tk]
		if i := slices.Index(hs, b); i >= 0 {
			hs = slices.Delete(hs, i, i+1)
		}
		if len(hs) == 0 {
			delete(s.holders, tk)
			continue
		}
		s.holders[tk] = hs
		s.startLocked(hs[0])
	}
}

// close sends every open batch now and takes no more records.
func (s *batching) close(batchers []*batcher) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, bt := range batchers {
		for _, ln := range bt.lanes {
			if ln.open != nil {
				s.flushLocked(ln.open)
			}
		}
	}
}
