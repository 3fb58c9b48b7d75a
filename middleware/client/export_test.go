package client

import (
	"net/http"
	"time"

	"github.com/creditgate/creditgate/cost"
)

// Waiters returns how many calls wait in the gate.
func (t *Transport) Waiters() int64 { return t.gate.n.Load() }

// ServerView exposes the header adapter to the dialect and fuzz tests.
type ServerView struct {
	Limit, Remaining       int64
	HasLimit, HasRemaining bool
	Reset                  time.Time
	RetryAfter             time.Duration
	HasRetryAfter          bool
}

func ParseView(now time.Time, h http.Header) ServerView {
	v := serverView(now, h)
	return ServerView{Limit: v.limit, Remaining: v.remaining, HasLimit: v.hasLimit,
		HasRemaining: v.hasRemaining, Reset: v.reset, RetryAfter: v.retryAfter, HasRetryAfter: v.hasRetryAfter}
}

// Classify exposes the 429 classification: "credits", "concurrency",
// "transient".
func Classify(resp *http.Response, credits int64) string {
	v := serverView(time.Unix(1e9, 0), resp.Header)
	v.far(time.Unix(1e9, 0), resp.Header)
	return [...]string{"none", "concurrency", "credits", "transient"}[classify(resp, &v, credits)]
}

// SavingMatch runs what RoundTrip adds, for the saving rules, to a call
// that none applies to: the match of r (priced as pattern) against the
// rules and the cached paths. It reports whether anything matched.
func (t *Transport) SavingMatch(r *http.Request, p *cost.Price) bool {
	rr, _, write := t.save.match(r, p)
	return rr != nil || write
}

// ParseSingle exposes the single-record parser of batching.
func ParseSingle(body []byte, member string, keyFields []string) (raw, rest []byte, tokens []string, ok bool) {
	r, ok := parseSingle(body, member, keyFields)
	return r.raw, r.rest, r.tokens, ok
}

// BatchBody exposes the batch body builder.
func BatchBody(member string, rest []byte, recs [][]byte) []byte {
	return batchBody(member, rest, recs)
}

// OneRecords splits a batch answer of n records into the one-record
// answers its callers get, with whether each succeeded; ok is false when
// the answer has not n results.
func OneRecords(body []byte, member string, n int) (answers [][]byte, success []bool, ok bool) {
	results, others, ok := splitResults(body, member, n)
	for i, r := range results {
		answers = append(answers, oneRecord(member, r, i, others))
		success = append(success, succeeded(r))
	}
	return answers, success, ok
}

// CacheControl exposes the Cache-Control parser.
func CacheControl(h http.Header) (noStore, noCache, private bool, maxAge int64) {
	cc := parseCacheControl(h)
	return cc.noStore, cc.noCache, cc.private, cc.maxAge
}

// Under reports whether path is at or below the path of pattern, as writes
// are matched against cached routes.
func Under(pattern, path string) bool { return newRoot(pattern).under(path) }

// SetExternal sets the count of credits reported spent by others, as if
// that many had been reconciled: it stands for the 2^23 answers that each
// drain a full pool of window.MaxLimit (2^40) credits a count needs to
// near 2^63, which a test cannot send.
func (t *Transport) SetExternal(n int64) {
	t.outside.credits.up.reset()
	t.outside.credits.down.reset()
	t.outside.credits.up.s[0].v.Store(n)
}
