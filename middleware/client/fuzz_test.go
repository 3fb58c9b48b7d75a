package client_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/creditgate/creditgate/middleware/client"
)

// fuzzHeaders are the limit fields of every dialect the Transport reads.
var fuzzHeaders = []string{"X-RATELIMIT-LIMIT", "X-RATELIMIT-REMAINING", "X-RATELIMIT-RESET",
	"X-API-CREDITS-REMAINING", "RateLimit-Policy", "RateLimit", "Retry-After", "X-RateLimit-Used",
	"X-HubSpot-RateLimit-Daily", "X-HubSpot-RateLimit-Daily-Remaining", "Sforce-Limit-Info"}

// FuzzServerView: no header value panics the adapter, and what it reports
// is usable (positive limit, non-negative remaining and delays).
func FuzzServerView(f *testing.F) {
	f.Add(uint8(1), "42", uint8(0), "100")
	f.Add(uint8(5), `"daily";r=5;t=60`, uint8(4), `"daily";q=100;w=86400`)
	f.Add(uint8(6), "Wed, 21 Oct 2015 07:28:00 GMT", uint8(2), "1700000000")
	f.Add(uint8(10), "api-usage=25/100", uint8(9), "-1")
	f.Add(uint8(1), "99999999999999999999", uint8(6), "-5")
	f.Fuzz(func(t *testing.T, k1 uint8, v1 string, k2 uint8, v2 string) {
		h := http.Header{}
		h[http.CanonicalHeaderKey(fuzzHeaders[int(k1)%len(fuzzHeaders)])] = []string{v1}
		h[http.CanonicalHeaderKey(fuzzHeaders[int(k2)%len(fuzzHeaders)])] = []string{v2}
		now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		v := client.ParseView(now, h)
		if v.HasLimit && v.Limit <= 0 || v.HasRemaining && v.Remaining < 0 || v.RetryAfter < 0 {
			t.Fatalf("unusable view %+v from %q", v, h)
		}
	})
}

// FuzzClassify: classifying a 429 never panics and leaves its body whole.
func FuzzClassify(f *testing.F) {
	f.Add(`{"code":"LIMIT_EXCEEDED"}`, "", "")
	f.Add(`{"policyName":"SECONDLY"}`, "3", "")
	f.Add(strings.Repeat("concurrency ", 400), "", "7")
	f.Add("", "Wed, 21 Oct 2015 07:28:00 GMT", "x")
	f.Add("", "Fri, 31 Dec 9999 23:59:59 GMT", "")
	f.Add("", "-99999999999999999999999", "")
	f.Fuzz(func(t *testing.T, body, retryAfter, rem string) {
		r, _ := http.NewRequest(http.MethodGet, "http://api.test/", nil)
		resp := response(r, 429, body, "Retry-After", retryAfter, "X-Ratelimit-Remaining", rem)
		switch k := client.Classify(resp, 1); k {
		case "credits", "concurrency", "transient":
		default:
			t.Fatalf("kind %q", k)
		}
		got, err := io.ReadAll(resp.Body)
		if err != nil || string(got) != body {
			t.Fatalf("body changed: %q, %v", got, err)
		}
	})
}
