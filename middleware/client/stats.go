package client

import (
	"sync/atomic"
	"time"

	"github.com/creditgate/creditgate/usage"
)

// counters are one integration's, updated atomically.
type counters struct {
	// A call is counted once, when RoundTrip returns: in held if it
	// returns a held body (whose release closed then counts), in requests
	// otherwise. One add per call serves both Requests and OpenBodies.
	requests  striped // calls, retries not counted, but those in held
	held      striped // calls that returned a held body
	credits   upDown  // credits spent, after refunds
	waits     atomic.Int64
	waitedNs  atomic.Int64
	retries   atomic.Int64
	throttled atomic.Int64 // 429s received from the server
	refused   [numReasons]atomic.Int64
	saved     [numFeatures]struct{ calls, credits atomic.Int64 }
}

// Feature is a way the Transport saves calls and credits.
type Feature uint8

// Features.
const (
	Coalesced Feature = iota // a call shared with an identical one in flight
	Cached                   // an answer served from the cache
	Batched                  // single-record writes sent as one call
	numFeatures
)

var featureNames = [numFeatures]string{"coalesced", "cached", "batched"}

func (f Feature) String() string {
	if f < numFeatures {
		return featureNames[f]
	}
	return "unknown"
}

// Saving is what a feature saved: calls not sent, and the credits they
// would have cost beyond what was spent instead.
type Saving struct{ Calls, Credits int64 }

// Savings are the savings of each feature.
type Savings struct{ Coalesced, Cached, Batched Saving }

// Total is the sum of the features' savings.
func (s Savings) Total() Saving {
	return Saving{Calls: s.Coalesced.Calls + s.Cached.Calls + s.Batched.Calls,
		Credits: s.Coalesced.Credits + s.Cached.Credits + s.Batched.Credits}
}

func (s *Savings) add(o Savings) {
	for f := range numFeatures {
		p, q := s.of(f), o.of(f)
		p.Calls += q.Calls
		p.Credits += q.Credits
	}
}

func (s *Savings) of(f Feature) *Saving {
	return [...]*Saving{&s.Coalesced, &s.Cached, &s.Batched}[f]
}

// SavedTenant is the tenant under which a Transport with [WithUsage]
// records what it saved, apart from what it spent: one call per call
// saved, as application the integration, as method the feature
// ("coalesced", "cached", "batched"), as module the request's, and as
// credits those saved (usage.Stats.Top(SavedTenant(tenant), usage.Method,
// ...) reads them by feature).
func SavedTenant(tenant string) string { return tenant + "#saved" }

// saved counts calls saved by feature f for integration it, with the
// credits they would have cost beyond what was spent instead.
func (t *Transport) saved(it *integration, f Feature, calls, credits int64, module string, now time.Time) {
	it.c.saved[f].calls.Add(calls)
	it.c.saved[f].credits.Add(credits)
	if t.usage == nil {
		return
	}
	tenant := SavedTenant(t.tenant)
	for i := range calls {
		e := usage.Event{At: now, Tenant: tenant, App: it.Name, Module: module, Method: featureNames[f]}
		if i == 0 {
			e.Credits = credits
		}
		t.usage.Record(e)
	}
}

// IntegrationStats are one integration's counters since the Transport was
// made. The row named [Outside] counts, as Credits, what the server reported
// spent by others.
type IntegrationStats struct {
	Name      string
	Requests  int64 // calls made through RoundTrip, counted as it returns (retries not counted)
	Credits   int64 // credits spent (taken, less refunds)
	Waits     int64 // calls that had to wait
	Waited    time.Duration
	Retries   int64
	Throttled int64 // 429s the server sent
	// Refused counts the calls the client refused (each a *LimitError), by
	// reason; reasons with no refusal are absent.
	Refused map[Reason]int64
	// Saved is what the saving rules saved it (see [WithCoalescing],
	// [WithCaching], [WithBatching]); its Requests count the calls saved.
	Saved Savings
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
	// Saved sums the integrations' savings.
	Saved Savings
	// CacheEntries and CacheBytes are what the cache holds; CacheEvicted
	// counts the entries it dropped to stay within its bounds.
	CacheEntries, CacheBytes, CacheEvicted int64
}

func (c *counters) snapshot(name string) IntegrationStats {
	s := IntegrationStats{Name: name, Requests: c.requests.Load() + c.held.Load(), Credits: c.credits.Load(),
		Waits: c.waits.Load(), Waited: time.Duration(c.waitedNs.Load()), Retries: c.retries.Load(),
		Throttled: c.throttled.Load(), Refused: map[Reason]int64{}}
	for r := range c.refused {
		if n := c.refused[r].Load(); n > 0 {
			s.Refused[Reason(r)] = n
		}
	}
	for f := range numFeatures {
		*s.Saved.of(f) = Saving{Calls: c.saved[f].calls.Load(), Credits: c.saved[f].credits.Load()}
	}
	return s
}

// openBodies counts the held bodies not yet released. The releases are read
// first: a body is counted held before it can be released, so the count is
// never below what it was during the read.
func (t *Transport) openBodies() int64 {
	n := -t.closed.Load()
	for _, it := range t.list {
		n += it.c.held.Load()
	}
	return n + t.heldInternal.Load()
}

// Stats returns the Transport's counters.
func (t *Transport) Stats() Stats {
	s := Stats{External: t.outside.credits.Load(), BudgetRefused: t.budget.refused.Load(),
		Reclaimed: t.reclaimed.Load(), OpenBodies: t.openBodies()}
	s.FirstCredits, s.RetryCredits = t.budget.totals(t.clock.Now())
	for _, it := range t.list {
		is := it.c.snapshot(it.Name)
		s.Saved.add(is.Saved)
		s.Integrations = append(s.Integrations, is)
	}
	if t.save != nil && t.save.cache != nil {
		s.CacheEntries, s.CacheBytes, s.CacheEvicted = t.save.cache.stats()
	}
	s.Integrations = append(s.Integrations, t.outside.snapshot(Outside))
	return s
}

// record writes one usage event when the Transport records usage.
func (t *Transport) record(now time.Time, app, module, method string, credits int64, refused bool) (folded bool) {
	if t.usage != nil {
		return t.usage.Record(usage.Event{At: now, Tenant: t.tenant, App: app, Module: module,
			Method: method, Credits: credits, Refused: refused})
	}
	return false
}
