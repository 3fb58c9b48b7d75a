package client

import (
	"net/http"
	"time"
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
	return [...]string{"none", "concurrency", "credits", "transient"}[classify(resp, &v, credits)]
}
