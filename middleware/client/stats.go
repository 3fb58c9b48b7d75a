package client

import (
	"sync/atomic"
	"time"

	"github.com/creditgate/creditgate/usage"
)

// counters are one integration's, updated atomically.
type counters struct {
	requests  atomic.Int64 // calls, retries not counted
	credits   atomic.Int64 // credits spent, after refunds
	waits     atomic.Int64
	waitedNs  atomic.Int64
	retries   atomic.Int64
	throttled atomic.Int64 // 429s received from the server
	refused   [numReasons]atomic.Int64
}

// IntegrationStats are one integration's counters since the Transport was
// made. The row named [Outside] counts, as Credits, what the server reported
// spent by others.
type IntegrationStats struct {
	Name      string
	Requests  int64 // calls made through RoundTrip (retries not counted)
	Credits   int64 // credits spent (taken, less refunds)
	Waits     int64 // calls that had to wait
	Waited    time.Duration
	Retries   int64
	Throttled int64 // 429s the server sent
	// Refused counts the calls the client refused (each a *LimitError), by
	// reason; reasons with no refusal are absent.
	Refused map[Reason]int64
}

// Stats are a Transport's counters.
type Stats struct {
	Integrations []IntegrationStats // in configuration order, then Outside
	External     int64              // credits the server reported spent by others
	// RetryCredits is what retries spent, FirstCredits what first attempts
	// spent, in the retry budget's current window.
	RetryCredits, FirstCredits int64
	BudgetRefused              int64 // retries the budget refused
	Reclaimed                  int64 // slots taken back from bodies held past WithMaxHold
	OpenBodies                 int64 // responses whose slots are still held
}

func (c *counters) snapshot(name string) IntegrationStats {
	s := IntegrationStats{Name: name, Requests: c.requests.Load(), Credits: c.credits.Load(),
		Waits: c.waits.Load(), Waited: time.Duration(c.waitedNs.Load()), Retries: c.retries.Load(),
		Throttled: c.throttled.Load(), Refused: map[Reason]int64{}}
	for r := range c.refused {
		if n := c.refused[r].Load(); n > 0 {
			s.Refused[Reason(r)] = n
		}
	}
	return s
}

// Stats returns the Transport's counters.
func (t *Transport) Stats() Stats {
	s := Stats{External: t.outside.credits.Load(), BudgetRefused: t.budget.refused.Load(),
		Reclaimed: t.reclaimed.Load(), OpenBodies: t.open.Load()}
	s.FirstCredits, s.RetryCredits = t.budget.totals(t.clock.Now())
	for _, it := range t.list {
		s.Integrations = append(s.Integrations, it.c.snapshot(it.Name))
	}
	s.Integrations = append(s.Integrations, t.outside.snapshot(Outside))
	return s
}

// record writes one usage event when the Transport records usage.
func (t *Transport) record(now time.Time, app, module, method string, credits int64, refused bool) {
	if t.usage != nil {
		t.usage.Record(usage.Event{At: now, Tenant: t.tenant, App: app, Module: module,
			Method: method, Credits: credits, Refused: refused})
	}
}
