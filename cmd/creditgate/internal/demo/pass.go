package demo

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/profile/zoho"
	"github.com/creditgate/creditgate/usage"
)

// row is what one integration did in one run.
type row struct {
	done, want int64
	// The gateway's figures: credits spent, calls received (admitted and
	// refused) and 429s sent.
	credits, calls, refused int64
	retries                 int64 // on its own without the governor; the Transport's with it
	waits                   int64 // calls the governor made wait (-1: no governor)
	saved                   int64 // credits the savings saved (-1: no savings)
	failed                  int64 // calls that got no answer
}

// outcome is one run's rows and pool.
type outcome struct {
	mode
	rows        []row // in integrations() order
	used, limit int64
	drained     float64 // the fraction of the day when the pool was spent, -1 if never
}

// runOnce runs the day's load in mode m, with a progress line, and returns
// what the gateway and the clients counted.
func (d *demo) runOnce(ctx context.Context, p *printer, m mode, i, n int) (*outcome, error) {
	p.line("\n[%d/%d] %s: %s", i+1, n, m.name, m.summary)
	r := &run{mode: m, ctx: ctx, length: d.day, grace: d.day / 10, base: d.base, its: integrations(),
		counts: map[string]*tally{}}
	for _, it := range r.its {
		r.counts[it.name] = &tally{}
	}
	base := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 10 * time.Second}
	defer base.CloseIdleConnections()
	r.hc = &http.Client{Transport: base, Timeout: 2 * d.day}
	if m.governs {
		tr, err := d.transport(r, base, m.saves)
		if err != nil {
			return nil, err
		}
		r.tr, r.hc = tr, &http.Client{Transport: tr}
	}
	r.start = time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { d.progress(p, r, stop) })
	r.work()
	close(stop)
	wg.Wait()
	out := d.collect(r)
	if r.tr != nil {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.tr.Close(cctx); err != nil {
			return nil, err
		}
	}
	return out, ctx.Err()
}

// transport is the governor of a run: the client Transport with the same
// plan and cost table as the gateway, and each integration's rules.
func (d *demo) transport(r *run, base http.RoundTripper, saves bool) (*client.Transport, error) {
	rules := make([]client.Integration, len(r.its))
	for i, it := range r.its {
		rules[i] = it.rules
	}
	opts := []client.Option{client.WithPlan(d.eff.Default), client.WithCosts(d.eff.Costs),
		client.WithTenant(r.tenant), client.WithIntegrations(rules...)}
	if saves {
		opts = append(opts,
			client.WithCaching(zoho.CacheRules("v8", d.day/4)...),
			client.WithCoalescing(zoho.CoalesceRules("v8")...),
			client.WithBatching(zoho.BatchRules("v8", max(d.day/200, 2*time.Millisecond))...))
	}
	return client.New(base, opts...)
}

// collect reads the gateway's usage statistics of the run's pool, by
// application, and the clients' counts.
func (d *demo) collect(r *run) *outcome {
	now := time.Now()
	pool := d.g.Limiter().Peek(now, r.tenant)
	out := &outcome{mode: r.mode, used: pool.Limit - pool.Remaining, limit: pool.Limit, drained: -1}
	if at, ok := d.alerts.crossed(r.tenant, 100); ok {
		out.drained = float64(at.Sub(r.start)) / float64(r.length)
	}
	byApp := map[string]usage.Count{}
	for _, c := range d.g.Limiter().Usage().Top(r.tenant, usage.App, r.start.Add(-time.Hour), now.Add(time.Hour), 100) {
		byApp[c.Key] = c
	}
	var stats map[string]client.IntegrationStats
	if r.tr != nil {
		stats = map[string]client.IntegrationStats{}
		for _, s := range r.tr.Stats().Integrations {
			stats[s.Name] = s
		}
	}
	for _, it := range r.its {
		t, u := r.tally(it), byApp[it.name]
		rw := row{done: t.done.Load(), want: it.want, credits: u.Credits, calls: u.Calls + u.Refused,
			refused: u.Refused, retries: t.retries.Load(), waits: -1, saved: -1, failed: t.failed.Load()}
		if s, ok := stats[it.name]; ok {
			rw.retries, rw.waits = s.Retries, s.Waits
			if r.saves {
				rw.saved = s.Saved.Total().Credits
			}
		}
		out.rows = append(out.rows, rw)
	}
	return out
}

// alertTap is the gateway's log handler in the demo: it keeps the usage
// alerts (the 80, 90 and 100 % crossings) for the progress line and the
// summary, and writes errors, and nothing else, to w.
type alertTap struct {
	errs slog.Handler
	seen *crossings
}

// crossings are the first time each tenant crossed each threshold.
type crossings struct {
	mu sync.Mutex
	at map[string]map[int]time.Time // guarded by mu: tenant, threshold
}

func newAlertTap(w io.Writer) *alertTap {
	return &alertTap{errs: slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelError}),
		seen: &crossings{at: map[string]map[int]time.Time{}}}
}

func (a *alertTap) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (a *alertTap) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		return a.errs.Handle(ctx, r)
	}
	if !strings.HasPrefix(r.Message, "usage alert") {
		return nil
	}
	var tenant string
	var threshold int
	r.Attrs(func(at slog.Attr) bool {
		switch at.Key {
		case "tenant":
			tenant = at.Value.String()
		case "threshold":
			threshold = int(at.Value.Int64())
		}
		return true
	})
	c := a.seen
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at[tenant] == nil {
		c.at[tenant] = map[int]time.Time{}
	}
	if _, ok := c.at[tenant][threshold]; !ok {
		c.at[tenant][threshold] = time.Now()
	}
	return nil
}

func (a *alertTap) WithAttrs(as []slog.Attr) slog.Handler {
	return &alertTap{errs: a.errs.WithAttrs(as), seen: a.seen}
}

func (a *alertTap) WithGroup(name string) slog.Handler {
	return &alertTap{errs: a.errs.WithGroup(name), seen: a.seen}
}

// crossed returns when tenant's pool crossed threshold percent.
func (a *alertTap) crossed(tenant string, threshold int) (time.Time, bool) {
	c := a.seen
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.at[tenant][threshold]
	return t, ok
}

// highest returns the highest threshold tenant's pool crossed, 0 for none.
func (a *alertTap) highest(tenant string) int {
	c := a.seen
	c.mu.Lock()
	defer c.mu.Unlock()
	h := 0
	for th := range c.at[tenant] {
		h = max(h, th)
	}
	return h
}
