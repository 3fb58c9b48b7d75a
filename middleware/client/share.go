package client

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
)

// snapshot is a response read whole, which the callers it answers share
// read-only: each gets its own *http.Response from it.
type snapshot struct {
	status       int
	statusText   string
	proto        string
	major, minor int
	header       http.Header // never changed once made
	trailer      http.Header
	body         []byte
	length       int64 // ContentLength: the body's, or a HEAD answer's as the server said
	uncompressed bool
	tls          *tls.ConnectionState
}

// response is a fresh response to req: headers cloned, the body a reader of
// its own over the shared bytes.
func (s *snapshot) response(req *http.Request) *http.Response {
	return &http.Response{Status: s.statusText, StatusCode: s.status, Proto: s.proto, ProtoMajor: s.major,
		ProtoMinor: s.minor, Header: s.header.Clone(), Trailer: s.trailer.Clone(),
		Body: io.NopCloser(bytes.NewReader(s.body)), ContentLength: s.length,
		Uncompressed: s.uncompressed, Request: req, TLS: s.tls}
}

// size is what the snapshot holds, roughly, in bytes: body, headers and
// trailers.
func (s *snapshot) size() int64 {
	return int64(len(s.body)) + 64 + headerSize(s.header) + headerSize(s.trailer)
}

func headerSize(h http.Header) int64 {
	var n int64
	for k, vs := range h {
		n += int64(len(k)) + 16
		for _, v := range vs {
			n += int64(len(v)) + 16
		}
	}
	return n
}

// readWhole reads resp's body, if it has at most maxBody bytes, into a
// snapshot and closes it (which gives the call's slots back), and returns
// the snapshot and a response made from it. A longer body, or one that
// fails, gives no snapshot, and resp with a body that yields what was read
// and then the rest (or the same error). The answer to a HEAD (head) keeps
// its ContentLength, the length of the body a GET would get.
func readWhole(resp *http.Response, maxBody int64, head bool) (*snapshot, *http.Response) {
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	buf, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil || int64(len(buf)) > maxBody {
		resp.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(buf), errOr(err, resp.Body)), c: resp.Body}
		return nil, resp
	}
	_ = resp.Body.Close()
	s := &snapshot{status: resp.StatusCode, statusText: resp.Status, proto: resp.Proto, major: resp.ProtoMajor,
		minor: resp.ProtoMinor, header: resp.Header, trailer: resp.Trailer, body: buf, length: int64(len(buf)),
		uncompressed: resp.Uncompressed, tls: resp.TLS}
	if head && len(buf) == 0 {
		s.length = resp.ContentLength
	}
	if s.header == nil {
		s.header = http.Header{}
	}
	return s, s.response(resp.Request)
}

// flight is one call that identical concurrent requests wait for.
type flight struct {
	gen   uint64        // the count of writes (saver.gen) when its call was asked for
	done  chan struct{} // closed once the fields below are set
	snap  *snapshot     // the shared answer; nil if none
	err   error         // the shared failure (the server could not be reached)
	again bool          // the call failed for its own caller: try a new flight
	// What the call waits for in the gate, if it is queued there; guarded
	// by the gate's mu (gate.note).
	ref    refusal
	queued bool
	// wake, if not nil, is closed when the gate tells the flight what its
	// call waits for (gate.note): followers with a deadline check again.
	wake chan struct{}
}

// flights are the calls in flight by key and integration: a call waits in
// the gate by its integration's rules (quiet hours, quota, pool level,
// priority), which must not hold back another integration's caller.
type flights struct {
	mu sync.Mutex // protects m
	m  map[flightKey]*flight
}

type flightKey struct {
	k        key
	it       *integration
	failFast bool // a fail-fast call would wait in no other's flight
}

// join returns the flight of k, and whether the caller leads it (makes the
// call and finishes the flight). gen is the count of writes (saver.gen),
// read before: a flight asked for before a write since (one that may have
// changed its answer) is not joined but replaced by a new one.
func (fs *flights) join(k flightKey, gen uint64) (*flight, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f := fs.m[k]; f != nil && f.gen == gen {
		return f, false
	}
	if fs.m == nil {
		fs.m = map[flightKey]*flight{}
	}
	f := &flight{gen: gen, done: make(chan struct{})}
	fs.m[k] = f
	return f, true
}

func (fs *flights) finish(k flightKey, f *flight, snap *snapshot, err error, again bool) {
	fs.mu.Lock()
	if fs.m[k] == f { // else replaced by a newer flight
		delete(fs.m, k)
	}
	fs.mu.Unlock()
	f.snap, f.err, f.again = snap, err, again
	close(f.done)
}

// read sends a GET or HEAD call through its route's coalescing and caching
// rules: from the cache, from a call in flight, or as the call whose answer
// the others share (and the cache keeps).
func (s *saver) read(c *call, rr *routeRules, o callOpts) (*http.Response, error) {
	share, cr := rr.share, rr.cache
	if !share.applies(c.it) {
		share = nil
	}
	if cr != nil && (!cr.applies(c.it) || c.req.Method != http.MethodGet) {
		cr = nil
	}
	if share == nil && cr == nil || c.req.Body != nil && c.req.Body != http.NoBody || overridden(c.req) {
		return c.run() // a method override: the server may read it as another method
	}
	k := requestKey(c.req, s.keyHeader)
	now := c.t.clock.Now()
	cc := parseCacheControl(c.req.Header)
	if len(c.req.Header["Cache-Control"]) == 0 && pragmaNoCache(c.req.Header) {
		cc.noCache = true // RFC 9111, 5.4
	}
	if cr != nil && !o.cacheBypass && !cc.noCache && !cc.noStore {
		if snap := s.cache.get(k, now, cc.maxAge); snap != nil {
			c.it.c.requests.Add(1)
			c.t.saved(c.it, Cached, 1, c.price.Credits, moduleOf(c.req, &c.price), now)
			return snap.response(c.req), nil
		}
	}
	if cc.noStore {
		cr = nil
	}
	fk := flightKey{k, c.it, c.failFast}
	for {
		// A read joins no flight asked for before a write that may have
		// changed its answer (saver.write): it could answer the state before
		// it. One atomic load: a read of a coalesced or cached route only.
		f, leader := s.flights.join(fk, s.gen.Load())
		if leader {
			return s.lead(c, fk, f, share, cr)
		}
		if resp, again, err := s.follow(c, f); !again {
			return resp, err
		}
	}
}

// pragmaNoCache reports whether h says Pragma: no-cache.
func pragmaNoCache(h http.Header) bool {
	for _, v := range h["Pragma"] {
		for _, d := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(d), "no-cache") {
				return true
			}
		}
	}
	return false
}

// lead sends the call of flight f, shares its answer with the flight and
// the cache, and returns its own copy. A failure that is its caller's own
// (its context ended, its integration was refused) is not shared: the
// others try a new flight. Neither is an answer that varies on a header
// outside the key.
func (s *saver) lead(c *call, fk flightKey, f *flight, share *shareRule, cr *cacheRoute) (*http.Response, error) {
	k := fk.k
	var gen uint64 // the cache's invalidations before the call is sent
	if cr != nil {
		gen = s.cache.generation()
	}
	finished := false
	var resp *http.Response
	defer func() {
		if !finished { // the call panicked: the others try a new flight
			if resp != nil { // reading its body: no caller will close it
				closeAfterPanic(resp.Body)
			}
			s.flights.finish(fk, f, nil, nil, true)
		}
	}()
	c.fl = f
	resp, err := c.run()
	var snap *snapshot
	if err == nil && resp.StatusCode != http.StatusSwitchingProtocols {
		limit := share.limit()
		if cr != nil {
			limit = max(limit, cr.maxBody)
		}
		snap, resp = readWhole(resp, limit, c.req.Method == http.MethodHead)
	}
	if snap != nil && !s.shareable(snap.header, c.req) {
		snap = nil
	}
	if snap != nil && cr != nil {
		s.store(k, c, cr, snap, gen)
	}
	// The caller's context ended (also while its answer was read, which
	// left no snapshot), or its integration was refused: the others try
	// again together.
	var le *LimitError
	own := snap == nil && c.req.Context().Err() != nil || err != nil && errors.As(err, &le) && !serverCredits(c, le)
	shared := err
	if own {
		shared = nil
	}
	finished = true
	s.flights.finish(fk, f, snap, shared, own)
	return resp, err
}

// serverCredits reports whether le is a fail-fast call's refusal by the
// server for credits (call.next): no failure of its caller's own, but the
// answer every fail-fast caller of the flight gets (it is keyed by
// failFast), each sending the call again into it.
func serverCredits(c *call, le *LimitError) bool {
	return c.failFast && le.Reason == ReasonCredits && le.Status != 0 && !le.Deadline && !le.Never
}

// shareable reports whether an answer to r may go to other callers with
// r's key: not if it varies on a header outside the key, sets a cookie (a
// session the server opened for one caller), or is private to a request
// that carries no credentials (nothing tells its callers apart).
func (s *saver) shareable(h http.Header, r *http.Request) bool {
	if setsOwn(h) || !s.varyKept(h) {
		return false
	}
	return len(h["Cache-Control"]) == 0 || !parseCacheControl(h).private || s.hasCredentials(r)
}

// ownHeaders are the fields of an answer that belong to the one call it
// answers, which other callers given the same answer must not get: the
// cookies it sets (a session the server opened for that call). What else
// coalescing does not share (Cache-Control private, Vary outside the key)
// says what the answer is, not whom it is for: a batch's callers, who get
// their own records' results, keep it.
var ownHeaders = [...]string{"Set-Cookie", "Set-Cookie2"}

// setsOwn reports whether h has one of ownHeaders.
func setsOwn(h http.Header) bool {
	for _, k := range ownHeaders {
		if len(h[k]) > 0 {
			return true
		}
	}
	return false
}

// dropOwnHeaders removes ownHeaders from h, a copy of its own.
func dropOwnHeaders(h http.Header) {
	for _, k := range ownHeaders {
		delete(h, k)
	}
}

// closeAfterPanic closes a held body while a panic goes on, which gives its
// slots back; a panic of the base body's Close is dropped, so that the first
// one goes on.
func closeAfterPanic(b io.ReadCloser) {
	defer func() { _ = recover() }()
	_ = b.Close()
}

func (r *shareRule) limit() int64 {
	if r == nil {
		return 0
	}
	return r.maxBody
}

// follow waits for the call of flight f and answers c from it: its answer,
// or its failure to reach the server. If it failed for its own caller,
// again says to join a new flight; if its answer is not shared (too large,
// or not shareable), c is sent on its own.
func (s *saver) follow(c *call, f *flight) (resp *http.Response, again bool, err error) {
	ctx := c.req.Context()
	dl, hasDL := ctx.Deadline()
	for waiting := true; waiting; {
		var wake chan struct{} // nil (never ready) without a deadline
		if hasDL {
			// What the call waits for ends c at once if it is not back
			// before c's deadline, as it would end c waiting in the queue
			// itself; also once the call waits there after c joined it
			// (wake: the gate tells the flight).
			g := &c.t.gate
			g.mu.Lock()
			r, queued := f.ref, f.queued
			if f.wake == nil {
				f.wake = make(chan struct{})
			}
			wake = f.wake
			g.mu.Unlock()
			if queued {
				if err := c.t.ends(c, dl, r); err != nil {
					c.it.c.requests.Add(1)
					return nil, false, err
				}
			}
		}
		select {
		case <-f.done:
			waiting = false
		case <-wake:
		case <-ctx.Done():
			c.it.c.requests.Add(1)
			return nil, false, ctx.Err()
		}
	}
	switch {
	case f.again:
		return nil, true, nil
	case f.err != nil:
		c.it.c.requests.Add(1)
		if le := (*LimitError)(nil); errors.As(f.err, &le) { // serverCredits: each caller's own copy, counted
			e := *le
			c.t.refused(c, &e)
			return nil, false, &e
		}
		c.t.saved(c.it, Coalesced, 1, 0, moduleOf(c.req, &c.price), c.t.clock.Now())
		return nil, false, f.err
	case f.snap == nil:
		resp, err = c.run()
		return resp, false, err
	}
	c.it.c.requests.Add(1)
	credits := c.price.Credits
	if st := f.snap.status; st == http.StatusTooManyRequests || st >= 500 {
		credits = 0 // such a call is refunded: it saved a call, no credits
	}
	c.t.saved(c.it, Coalesced, 1, credits, moduleOf(c.req, &c.price), c.t.clock.Now())
	return f.snap.response(c.req), false, nil
}
