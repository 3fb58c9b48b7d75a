package middleware_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/creditgate/creditgate/middleware"
)

var parseNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// HubSpot reports a daily pool and a 10-second one; the client asks what
// remains without knowing which.
func ExampleParseHeaders_hubSpot() {
	h := http.Header{}
	h.Set("X-HubSpot-RateLimit-Daily", "650000")
	h.Set("X-HubSpot-RateLimit-Daily-Remaining", "649800")
	h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
	h.Set("X-HubSpot-RateLimit-Max", "190")
	h.Set("X-HubSpot-RateLimit-Remaining", "0")
	lim, err := middleware.ParseHeaders(parseNow, h)
	fmt.Println(lim.Dialects, lim.Remaining, lim.Interval.Remaining, lim.Interval.Window, err)
	n, more, _ := lim.Available(parseNow)
	fmt.Println(n, more.Sub(parseNow))
	// Output:
	// hubspot 649800 0 10s <nil>
	// 0 10s
}

// GitHub's X-RateLimit-* fields are the same fields as Zoho's for net/http;
// -Used, -Resource and the epoch reset tell them apart.
func ExampleParseHeaders_gitHub() {
	h := http.Header{}
	h.Set("x-ratelimit-limit", "5000")
	h.Set("x-ratelimit-remaining", "4987")
	h.Set("x-ratelimit-used", "13")
	h.Set("x-ratelimit-reset", fmt.Sprint(parseNow.Add(30*time.Minute).Unix()))
	h.Set("x-ratelimit-resource", "graphql")
	lim, err := middleware.ParseHeaders(parseNow, h)
	fmt.Println(lim.Dialects, lim.Name, lim.Limit, lim.Used, lim.Reset.Sub(parseNow), err)
	// Output: github graphql 5000 13 30m0s <nil>
}

// Salesforce sends used/limit over a rolling day; the rest is derived.
func ExampleParseHeaders_salesforce() {
	h := http.Header{"Sforce-Limit-Info": {"api-usage=10018/100000; api-bursts=1/750"}}
	lim, err := middleware.ParseHeaders(parseNow, h)
	fmt.Println(lim.Dialects, lim.Remaining, lim.Window, lim.Has(middleware.FieldReset), err)
	// Output: salesforce 89982 24h0m0s false <nil>
}

// Available takes Retry-After into account: nothing until it has passed.
func ExampleLimits_Available() {
	h := http.Header{}
	h.Set("RateLimit-Policy", `"daily";q=1000;w=86400`)
	h.Set("RateLimit", `"daily";r=200;t=3600`)
	h.Set("Retry-After", "120")
	lim, _ := middleware.ParseHeaders(parseNow, h)
	n, more, ok := lim.Available(parseNow)
	fmt.Println(n, more.Sub(parseNow), ok)
	// Output: 0 2m0s true
}

// A rolling window without a reset instant still bounds when more comes
// back.
func ExamplePool_NextReset() {
	p := middleware.Pool{Window: 10 * time.Second, Present: middleware.FieldWindow}
	t, ok := p.NextReset(parseNow)
	fmt.Println(t.Sub(parseNow), ok)
	// Output: 10s true
}
