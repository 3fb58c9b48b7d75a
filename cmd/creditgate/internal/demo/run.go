package demo

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/middleware/client"
)

// mode is how a run's integrations reach the API.
type mode struct {
	tenant  string // the run's pool at the gateway (X-Org)
	title   string // the table's column
	name    string // the run's
	summary string // what changes, in one line
	governs bool   // through the client Transport
	saves   bool   // with its credit savings (caching, coalescing, batching)
}

var modes = []mode{
	{tenant: "without-governor", title: "without", name: "Without the governor",
		summary: "every integration calls the API on its own; the export ignores Retry-After, the script retries every 429 at once."},
	{tenant: "with-governor", title: "with", name: "With the governor", governs: true,
		summary: "the same calls through the governor (package middleware/client): the export may spend half the pool, the forms keep a tenth of it and go first, retries stay within a budget."},
	{tenant: "with-savings", title: "+savings", name: "With the governor and its savings", governs: true, saves: true,
		summary: "the same again, with metadata cached, identical reads coalesced and single-record writes batched."},
}

// tally is what one integration did in one run, counted on the client side.
type tally struct {
	done    atomic.Int64 // units of work done
	retries atomic.Int64 // 429s it retried on its own (no governor)
	failed  atomic.Int64 // calls that got no answer (not the governor's refusals)
}

// run is one pass of the day's load through the gateway.
type run struct {
	mode
	ctx    context.Context // cancelled by an interrupt
	start  time.Time
	length time.Duration // the day
	grace  time.Duration // calls may end this long after the day
	base   string        // the gateway's URL
	hc     *http.Client
	tr     *client.Transport // nil without the governor
	its    []*integration
	counts map[string]*tally
}

func (r *run) end() time.Time { return r.start.Add(r.length) }

// at is a fraction of the day as an instant.
func (r *run) at(f float64) time.Time { return r.start.Add(time.Duration(f * float64(r.length))) }

// over reports whether the day has ended (or the demo was interrupted).
func (r *run) over() bool { return r.ctx.Err() != nil || !time.Now().Before(r.end()) }

func (r *run) tally(it *integration) *tally { return r.counts[it.name] }

// sleepUntil waits until t; it reports false, at once, if t is past the
// day's end, or when the demo is interrupted.
func (r *run) sleepUntil(t time.Time) bool {
	if !t.Before(r.end()) {
		return false
	}
	return sleep(r.ctx, time.Until(t))
}

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

// call sends one request of it and returns its final status (0 when none
// came: the governor held it back, or the API could not be reached).
// Without the governor, it retries 429s as the integration does.
func (r *run) call(it *integration, method, path, body string) int {
	for attempt := 0; ; attempt++ {
		st := r.send(it, method, path, body)
		if st != http.StatusTooManyRequests || r.tr != nil || it.retries >= 0 && attempt >= it.retries || r.over() {
			return st
		}
		r.tally(it).retries.Add(1)
		if !sleep(r.ctx, time.Duration(float64(it.pause)*r.scale())) {
			return st
		}
	}
}

// scale is the day over 10 s, the day the integrations' pauses and the
// CRM's delays are given for.
func (r *run) scale() float64 { return float64(r.length) / float64(10*time.Second) }

func (r *run) send(it *integration, method, path, body string) int {
	ctx := r.ctx
	if r.tr != nil {
		// The governor fails at once what cannot be admitted by then,
		// rather than waiting for tomorrow's credits.
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(client.WithIntegration(ctx, it.name), r.end().Add(r.grace))
		defer cancel()
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, rd)
	if err != nil {
		r.tally(it).failed.Add(1)
		return 0
	}
	req.Header.Set("X-Org", r.tenant)
	req.Header.Set(middleware.HeaderClientID, it.name)
	req.Header.Set("Authorization", "Zoho-oauthtoken 1000.demo-"+it.name)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		var le *client.LimitError
		if !errors.As(err, &le) && r.ctx.Err() == nil {
			r.tally(it).failed.Add(1)
		}
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// work runs every integration's day and waits for them: calls in flight
// when the day ends are answered.
func (r *run) work() {
	var wg sync.WaitGroup
	for _, it := range r.its {
		wg.Go(func() { it.work(r, it) })
	}
	wg.Wait()
}
