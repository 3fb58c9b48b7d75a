package client

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creditgate/creditgate/middleware"
)

// retryKind is what a refusal or failure is, for its retry.
type retryKind uint8

const (
	kindNone        retryKind = iota
	kindConcurrency           // a slot cap: a short full-jitter backoff, or Retry-After
	kindCredits               // the pool is spent: wait for the reset
	kindTransient             // anything else: Retry-After, or a backoff
)

// peekBytes is how much of a 429 body classify reads (and puts back).
const peekBytes = 2 << 10

// classify tells a 429's kind from the limit headers, then the body's
// structured fields (this project's and Zoho's by and codes, Salesforce's
// errorCode, HubSpot's policyName), then the length of Retry-After. It leaves the body as it found it.
func classify(resp *http.Response, v *view, credits int64) retryKind {
	f := peekFields(resp)
	if f.never() {
		return kindNone // a call above the whole pool or the cap: no wait admits it
	}
	if v.hasRemaining {
		if v.remaining < max(credits, 1) {
			return kindCredits
		}
		return kindConcurrency // credits are there: a slot cap refused
	}
	if k := f.kind(); k != kindNone {
		return k
	}
	if v.hasRetryAfter && v.retryAfter >= time.Minute {
		return kindCredits
	}
	return kindTransient
}

// peekFields reads the start of a refusal's body for the vendor's fields
// that say what ran out (bodyFields), and puts the body back whole.
func peekFields(resp *http.Response) bodyFields {
	if resp.Body == nil || resp.Body == http.NoBody {
		return bodyFields{}
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, peekBytes))
	resp.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(head), errOr(err, resp.Body)), c: resp.Body}
	return readFields(head)
}

// aboveCost reports whether the fields say by "cost": the call costs more
// than the server's whole pool, which took none of its credits, and no
// wait admits it.
func (f bodyFields) aboveCost() bool {
	return !f.conflict && strings.EqualFold(f.by, middleware.ByCost)
}

// aboveUnits reports whether the fields say by "units": the call takes
// more of the server's concurrency cap than the cap holds, and no release
// admits it.
func (f bodyFields) aboveUnits() bool {
	return !f.conflict && strings.EqualFold(f.by, middleware.ByUnits)
}

// never reports whether the fields say no wait admits the call.
func (f bodyFields) never() bool { return f.aboveCost() || f.aboveUnits() }

// bodyFields are the members of an error body that say what ran out, read
// where each vendor puts them and nowhere else: never from a substring, for
// a value such as a user-named API class ("DAILY") or a message may hold a
// code's word.
type bodyFields struct {
	by       string // details.by (ours, Zoho's shape) or a problem's by
	code     string // code (Zoho, ours) or errorCode (Salesforce's first error)
	policy   string // policyName (HubSpot)
	conflict bool   // a field repeated with another value: the body is ambiguous
}

// kind is what the fields say, the most specific first; kindNone when they
// say nothing or disagree. Values match in any case.
func (f bodyFields) kind() retryKind {
	if f.conflict {
		return kindNone
	}
	switch {
	case strings.EqualFold(f.by, middleware.ByCredits):
		return kindCredits
	case strings.EqualFold(f.by, middleware.ByConcurrency), strings.EqualFold(f.by, middleware.BySubConcurrency):
		return kindConcurrency
	case f.by != "":
		return kindNone // tenants, or a limit this client has no wait for
	case strings.EqualFold(f.code, "LIMIT_EXCEEDED"), strings.EqualFold(f.code, "REQUEST_LIMIT_EXCEEDED"):
		return kindCredits
	case strings.EqualFold(f.policy, "DAILY"):
		return kindCredits
	case strings.EqualFold(f.policy, "SECONDLY"), strings.EqualFold(f.policy, "TEN_SECONDLY_ROLLING"):
		return kindConcurrency
	}
	return kindNone // TOO_MANY_REQUESTS alone is Zoho's word for both
}

// readFields reads head, the start of a body, as JSON: an object, or an
// array whose first element is one (Salesforce). Fields read before a cut
// or a syntax error count; text that is no JSON has none.
func readFields(head []byte) bodyFields {
	var f bodyFields
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(head, []byte("\ufeff"))))
	t, err := dec.Token()
	if err == nil && t == json.Delim('[') {
		t, err = dec.Token()
	}
	if err == nil && t == json.Delim('{') {
		f.object(dec, false)
	}
	return f
}

// object reads the members of an object whose '{' was read, descending into
// the top level's details; it reports false on a cut or an error.
func (f *bodyFields) object(dec *json.Decoder, inDetails bool) bool {
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		key, _ := t.(string)
		if t, err = dec.Token(); err != nil {
			return false
		}
		switch v := t.(type) {
		case string:
			f.set(key, v, inDetails)
		case json.Delim:
			var ok bool
			if v == '{' && key == "details" && !inDetails {
				ok = f.object(dec, true)
			} else {
				ok = skipValue(dec)
			}
			if !ok {
				return false
			}
		}
	}
	_, err := dec.Token()
	return err == nil
}

// set keeps a string member that is one of the fields, noting a repeat that
// disagrees. Keys match exactly, as the vendors write them.
func (f *bodyFields) set(key, v string, inDetails bool) {
	var dst *string
	switch {
	case key == "by":
		dst = &f.by
	case inDetails:
		return
	case key == "code", key == "errorCode":
		dst = &f.code
	case key == "policyName":
		dst = &f.policy
	default:
		return
	}
	if *dst != "" && !strings.EqualFold(*dst, v) {
		f.conflict = true
	}
	*dst = v
}

// skipValue reads the rest of an array or object whose delimiter was read.
func skipValue(dec *json.Decoder) bool {
	for depth := 1; depth > 0; {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return true
}

// replayBody is a body whose start was read and is read again first.
type replayBody struct {
	io.Reader
	c io.Closer
}

func (b *replayBody) Close() error { return b.c.Close() }

// errOr is r, or a reader failing with err when reading failed.
func errOr(err error, r io.Reader) io.Reader {
	if err != nil {
		return errReader{err}
	}
	return r
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// farAway is the Retry-After of a refusal that asked for longer than the
// header parser reads: longer than any cap.
const farAway = time.Duration(math.MaxInt64)

// far takes a Retry-After that the header parser left out for being past
// its horizon (more than a year, or more digits than it reads) or negative
// (as an overflowed delay reads) for a wait past any cap: the server asked
// for a long one, and the short backoff would be the worst answer. Garbage
// that is no number and no date stays ignored (RFC 9110), and so do lines
// that disagree. Read on refusals only, after serverView.
func (v *view) far(now time.Time, h http.Header) {
	if v.hasRetryAfter {
		return
	}
	lines := h[middleware.HeaderRetryAfter]
	if len(lines) == 0 {
		return
	}
	s := strings.TrimSpace(lines[0])
	for _, l := range lines[1:] {
		if strings.TrimSpace(l) != s {
			return
		}
	}
	if z := strings.TrimLeft(s, "0"); z != s && signedDigits(s) {
		// Leading zeros (delay-seconds is 1*DIGIT), past the parser's
		// length: the number they pad may well be in range.
		if z == "" {
			z = "0"
		}
		l, _ := middleware.ParseHeaders(now, http.Header{middleware.HeaderRetryAfter: {z}})
		if l.Has(middleware.FieldRetryAfter) {
			v.retryAfter, v.hasRetryAfter = l.RetryAfter, true
			return
		}
	}
	// The parser reads every unsigned number and date within a year:
	// one it left out is out of range.
	if !signedDigits(s) {
		if _, err := http.ParseTime(s); err != nil {
			return
		}
	}
	v.retryAfter, v.hasRetryAfter, v.retryFar = farAway, true, true
}

// signedDigits reports whether s is decimal digits, with an optional minus.
func signedDigits(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// delay is how long to wait before retrying a refusal of kind, and when the
// server said what was short comes back (zero: it did not say, or said a
// time past what the client reads).
func (t *Transport) delay(kind retryKind, v *view, now time.Time, attempt int) (time.Duration, time.Time) {
	p := &t.retry
	if kind == kindConcurrency && !v.hasRetryAfter {
		// A slot comes free at no time the server said: a short backoff.
		// When it did say (Retry-After), that is honoured like any other.
		return jitter(backoff(p, attempt)), time.Time{}
	}
	ra := time.Duration(-1)
	switch {
	case v.hasRetryAfter:
		ra = v.retryAfter
	case kind == kindCredits && v.reset.After(now):
		ra = v.reset.Sub(now)
	}
	if ra < 0 {
		return jitter(backoff(p, attempt)), time.Time{}
	}
	// Capped, then up to a fifth more (at least up to one Backoff), so that
	// a fleet told the same time does not come back in one burst.
	d := min(ra, p.MaxRetryAfter)
	back := now.Add(ra)
	if v.retryFar {
		back = time.Time{}
	}
	j := jitter(max(d/5, p.Backoff))
	if j > farAway-d { // a cap as large as a Duration goes: no overflow
		return farAway, back
	}
	return d + j, back
}

// backoff is the ceiling of the attempt's exponential backoff.
func backoff(p *RetryPolicy, attempt int) time.Duration {
	// Compared shifted right: Backoff<<attempt may overflow (20 s << 29).
	if attempt >= 30 || p.Backoff > p.MaxBackoff>>attempt {
		return p.MaxBackoff
	}
	return p.Backoff << attempt
}

// jitter is uniform in [0, d]: full jitter.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	// Unsigned: d+1 overflows an int64 for the largest Duration.
	return time.Duration(rand.Uint64N(uint64(d) + 1))
}

// budgetBuckets divide the retry budget's window.
const budgetBuckets = 10

// budget bounds what retries spend by what first attempts spent recently:
// credits in buckets of a tenth of the window each.
type budget struct {
	ratio   float64
	floor   int64
	width   int64 // ns per bucket
	mu      sync.Mutex
	b       [budgetBuckets]bucket
	refused atomic.Int64
	cur     atomic.Pointer[bucket] // the bucket first last counted in
}

type bucket struct {
	id    atomic.Int64 // which bucket of time it counts
	retry atomic.Int64
	first striped // every first attempt adds to it
}

func (b *budget) init(p RetryPolicy) {
	b.ratio, b.floor = p.BudgetRatio, p.BudgetFloor
	b.width = max(int64(p.BudgetWindow)/budgetBuckets, 1)
	for i := range b.b {
		b.b[i].id.Store(math.MinInt64)
	}
}

// slot returns the bucket of now, emptied if it counted older time; nil for
// a time older than the bucket holds.
func (b *budget) slot(now time.Time, locked bool) *bucket {
	id := now.UnixNano() / b.width
	bk := &b.b[uint64(id)%budgetBuckets]
	if bk.id.Load() == id {
		return bk
	}
	if !locked {
		b.mu.Lock()
		defer b.mu.Unlock()
	}
	switch old := bk.id.Load(); {
	case old > id:
		return nil
	case old < id:
		bk.first.reset()
		bk.retry.Store(0)
		bk.id.Store(id)
	}
	return bk
}

// first counts n credits of a first attempt. Every call counts one, so the
// bucket of the last is tried first, by a multiplication: slot's division
// is a slow instruction, and it is a call.
func (b *budget) first(now time.Time, n int64) {
	ns := now.UnixNano()
	if bk := b.cur.Load(); bk != nil {
		if lo := bk.id.Load() * b.width; ns >= lo && ns-lo < b.width {
			bk.first.Add(n)
			return
		}
	}
	if bk := b.slot(now, false); bk != nil {
		b.cur.Store(bk)
		bk.first.Add(n)
	}
}

// totals returns what first attempts and retries spent in the window.
func (b *budget) totals(now time.Time) (first, retry int64) {
	id := now.UnixNano() / b.width
	for i := range b.b {
		if age := id - b.b[i].id.Load(); age >= 0 && age < budgetBuckets {
			first += b.b[i].first.Load()
			retry += b.b[i].retry.Load()
		}
	}
	return first, retry
}

// move takes again, when a retry is sent, the n credits allow took for it
// when it was decided (decided, Unix ns): its Retry-After and its wait for
// admission may take it past the window of the first attempts that paid
// for it, and what the budget bounds is the retries sent in a window. It
// reports false, with the credits given back, when the window at sent has
// no room for them.
func (b *budget) move(decided int64, sent time.Time, n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := decided / b.width
	if bk := &b.b[uint64(id)%budgetBuckets]; bk.id.Load() == id {
		bk.retry.Add(-n)
	}
	first, retry := b.totals(sent)
	if float64(retry+n) > b.ratio*float64(first)+float64(b.floor) {
		b.refused.Add(1)
		return false
	}
	if bk := b.slot(sent, true); bk != nil {
		bk.retry.Add(n)
	}
	return true
}

// unreserve gives back the n credits allow took, at decided (Unix ns), for
// a retry that will not be sent.
func (b *budget) unreserve(decided, n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := decided / b.width
	if bk := &b.b[uint64(id)%budgetBuckets]; bk.id.Load() == id {
		bk.retry.Add(-n)
	}
}

// allow takes n credits of retry budget, or reports false.
func (b *budget) allow(now time.Time, n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	first, retry := b.totals(now)
	if float64(retry+n) > b.ratio*float64(first)+float64(b.floor) {
		b.refused.Add(1)
		return false
	}
	if bk := b.slot(now, true); bk != nil {
		bk.retry.Add(n)
	}
	return true
}
