package main

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/profile/zoho"
)

// call is one request an integration makes.
type call struct {
	method, path, body string
}

// integration is one simulated client application with its own habits.
type integration struct {
	name    string // its client id (X-Client-Id), the dashboard's "application"
	user    string
	ip      string // the address a trusted gateway reports for it
	workers int    // calls in flight at once
	pause   time.Duration
	// backoff on 429: 0 honours Retry-After (capped by the end of the run),
	// otherwise a fixed pause regardless of what the server said.
	backoff time.Duration
	next    func(rng *rand.Rand) call
}

// integrations are the demo's clients:
//   - a greedy bulk exporter: more bulk jobs at once than the sub-concurrency
//     cap allows, no pause, and a short fixed backoff that ignores Retry-After;
//   - a report widget: many parallel small reads, more than the concurrency cap;
//   - a nightly sync job: upserts of 100 records (10 credits) and searches;
//   - a web form: a lead now and then, sometimes converted, polite on 429.
func integrations() []integration {
	return []integration{
		{
			name: "bulk-exporter", user: "etl@acme.test", ip: "198.51.100.10", workers: 14,
			backoff: 20 * time.Millisecond,
			next: func(rng *rand.Rand) call {
				if rng.IntN(5) == 0 {
					return call{"POST", "/crm/v8/coql", `{"select_query":"select Last_Name from Leads where Created_Time > '2026-01-01T00:00:00+00:00' limit 2000"}`}
				}
				return call{"POST", "/crm/bulk/v8/read", `{"query":{"module":{"api_name":"Deals"}}}`}
			},
		},
		{
			name: "report-widget", user: "ann@acme.test", ip: "203.0.113.20", workers: 24,
			pause: 80 * time.Millisecond, backoff: 100 * time.Millisecond,
			next: func(rng *rand.Rand) call {
				modules := []string{"Deals", "Accounts", "Contacts"}
				return call{"GET", "/crm/v8/" + modules[rng.IntN(len(modules))], ""}
			},
		},
		{
			name: "nightly-sync", user: "sync@acme.test", ip: "192.0.2.30", workers: 3,
			pause: 30 * time.Millisecond,
			next: func(rng *rand.Rand) call {
				if rng.IntN(3) == 0 {
					return call{"GET", "/crm/v8/Contacts/search?email=someone@example.com", ""}
				}
				return call{"POST", "/crm/v8/Contacts/upsert", recordsBody(100)}
			},
		},
		{
			name: "web-form", user: "website", ip: "2001:db8:40:1::7", workers: 1,
			pause: 100 * time.Millisecond,
			next: func(rng *rand.Rand) call {
				if rng.IntN(4) == 0 {
					return call{"POST", "/crm/v8/Leads/5000000001/actions/convert", `{"data":[{"overwrite":true}]}`}
				}
				return call{"POST", "/crm/v8/Leads", recordsBody(1)}
			},
		},
	}
}

// appStats is what one integration saw, counted on the client side.
type appStats struct {
	calls, ok, failed             atomic.Int64
	concurrency, subConc, credits atomic.Int64 // 429s by details.by
}

func (s *appStats) refused() int64 { return s.concurrency.Load() + s.subConc.Load() + s.credits.Load() }

// runLoad runs every integration against base until stop is done. Calls in
// flight when stop fires are finished (sent on reqCtx, which only an
// interrupt cancels), so the client's counts match the server's.
func runLoad(stop, reqCtx context.Context, client *http.Client, base string, apps []integration, stats []*appStats) {
	var wg sync.WaitGroup
	for i, app := range apps {
		for w := range app.workers {
			rng := rand.New(rand.NewPCG(uint64(i), uint64(w)))
			wg.Go(func() { worker(stop, reqCtx, client, base, app, stats[i], rng) })
		}
	}
	wg.Wait()
}

func worker(stop, reqCtx context.Context, client *http.Client, base string, app integration, st *appStats, rng *rand.Rand) {
	for stop.Err() == nil {
		c := app.next(rng)
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		req, err := http.NewRequestWithContext(reqCtx, c.method, base+c.path, body)
		if err != nil {
			st.failed.Add(1)
			return
		}
		req.Header.Set(middleware.HeaderClientID, app.name)
		req.Header.Set(middleware.HeaderUserID, app.user)
		req.Header.Set("X-Forwarded-For", app.ip)
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		st.calls.Add(1)
		resp, err := client.Do(req)
		if err != nil {
			st.failed.Add(1)
			continue
		}
		wait := app.pause
		switch {
		case resp.StatusCode < 300:
			st.ok.Add(1)
		case resp.StatusCode == http.StatusTooManyRequests:
			var e zoho.ErrorBody
			_ = json.NewDecoder(resp.Body).Decode(&e)
			switch e.Details.By {
			case middleware.ByConcurrency:
				st.concurrency.Add(1)
			case middleware.BySubConcurrency:
				st.subConc.Add(1)
			default:
				st.credits.Add(1)
			}
			wait = app.backoff
			if wait == 0 {
				lim, _ := middleware.ParseHeaders(time.Now(), resp.Header)
				wait = max(lim.RetryAfter, app.pause)
			}
		default:
			st.failed.Add(1)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if !sleep(stop, wait) {
			return
		}
	}
}

// sleep waits d or until ctx is done (the load's stop, or a client gone
// away in a handler); it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
