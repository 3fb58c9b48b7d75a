package client_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/profile/zoho"
	"github.com/creditgate/creditgate/usage"
)

// demoStep is one call of the demo load.
type demoStep struct{ method, url, body string }

// demoWorker is one goroutine of the demo load: an integration, its steps,
// its pause between rounds and how many rounds.
type demoWorker struct {
	it       string
	rounds   int
	pause    time.Duration
	together bool // starts with the others at once (else at a random offset)
	steps    func(w, round int) []demoStep
}

// demoLoad is a day in the life of three integrations, cut short, with the
// habits that waste credits:
//   - a web form: 8 visitors at a time, each form load reads the Leads
//     layout and the visitor's submission inserts one lead;
//   - a dashboard widget: 12 panels refresh the same deals query together
//     every second;
//   - a sync job: 4 workers read the Contacts fields and the users, check
//     for a duplicate, then upsert one contact.
func demoLoad() []demoWorker {
	var ws []demoWorker
	for range 8 {
		ws = append(ws, demoWorker{it: "web-form", rounds: 60, pause: 300 * time.Millisecond,
			steps: func(w, round int) []demoStep {
				return []demoStep{{"GET", "/crm/v8/settings/layouts?module=Leads", ""},
					{"POST", "/crm/v8/Leads", lead(w*1000+round, "Last_Name", fmt.Sprint("visitor", w, "-", round))}}
			}})
	}
	for range 12 {
		ws = append(ws, demoWorker{it: "dashboard", rounds: 60, pause: time.Second, together: true,
			steps: func(int, int) []demoStep { return []demoStep{{"GET", "/crm/v8/Deals?cvid=42&page=1", ""}} }})
	}
	for range 4 {
		ws = append(ws, demoWorker{it: "sync", rounds: 100, pause: 200 * time.Millisecond,
			steps: func(w, round int) []demoStep {
				email := fmt.Sprintf("c%d-%d@example.test", w, round)
				return []demoStep{{"GET", "/crm/v8/settings/fields?module=Contacts", ""}, {"GET", "/crm/v8/users?type=ActiveUsers", ""},
					{"GET", "/crm/v8/Contacts/search?email=" + email, ""},
					{"POST", "/crm/v8/Contacts/upsert", lead(100000+w*1000+round, "Last_Name", "c", "Email", email)}}
			}})
	}
	return ws
}

// demoRun is what one run of the demo load measured.
type demoRun struct {
	name           string
	calls, credits int64 // received and charged by the CRM
	requests       int64
	saved          client.Savings
}

// runDemo runs the demo load against a fake Zoho CRM (50 ms a call) through
// a Transport with opts, each worker but the dashboard's starting at a
// random offset of its first pause, and returns what the CRM received and
// charged.
func runDemo(t *testing.T, name string, opts ...client.Option) demoRun {
	var run demoRun
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		crm.latency = 50 * time.Millisecond
		its := client.WithIntegrations(client.Integration{Name: "web-form"}, client.Integration{Name: "dashboard"},
			client.Integration{Name: "sync"})
		tr := newZoho(t, crm, append([]client.Option{its}, opts...)...)
		var wg sync.WaitGroup
		for i, w := range demoLoad() {
			rng := rand.New(rand.NewPCG(uint64(i), 19))
			wg.Go(func() {
				ctx := client.WithIntegration(context.Background(), w.it)
				if !w.together {
					time.Sleep(time.Duration(rng.Int64N(int64(w.pause))))
				}
				for round := range w.rounds {
					for _, s := range w.steps(i, round) {
						st, body, err := send(ctx, tr, s.method, s.url, "sync-token", s.body)
						if !assert.NoError(t, err) || !assert.Less(t, st, 300, body) {
							return
						}
					}
					time.Sleep(w.pause)
				}
			})
		}
		wg.Wait()
		calls, credits := crm.spent()
		s := tr.Stats()
		run = demoRun{name: name, calls: int64(calls), credits: credits, saved: s.Saved}
		for _, is := range s.Integrations {
			run.requests += is.Requests
		}
		assert.Empty(t, crm.dupes())
	})
	return run
}

// The demo load with and without each feature: the credits the CRM charged
// drop by exactly what the Transport counts as saved, per feature.
func TestSavingsOnDemoLoad(t *testing.T) {
	window := 20 * time.Millisecond
	features := []struct {
		name string
		opts []client.Option
	}{
		{"none", nil},
		{"coalescing", []client.Option{client.WithCoalescing(zoho.CoalesceRules("v8")...)}},
		{"caching", []client.Option{client.WithCaching(zoho.CacheRules("v8", 10*time.Minute)...)}},
		{"batching", []client.Option{client.WithBatching(zoho.BatchRules("v8", window)...)}},
		{"all", []client.Option{client.WithCoalescing(zoho.CoalesceRules("v8")...),
			client.WithCaching(zoho.CacheRules("v8", 10*time.Minute)...), client.WithBatching(zoho.BatchRules("v8", window)...)}},
	}
	var runs []demoRun
	for _, f := range features {
		runs = append(runs, runDemo(t, f.name, f.opts...))
	}
	base := runs[0]
	require.Zero(t, base.saved.Total())
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-11s %8s %8s %8s | %-20s %-20s %-20s\n", "features", "requests", "calls", "credits",
		"coalesced", "cached", "batched")
	for _, r := range runs {
		assert.Equal(t, base.requests, r.requests, "%s: the same load", r.name)
		assert.Equal(t, base.credits-r.credits, r.saved.Total().Credits, "%s: credits saved as counted", r.name)
		assert.Equal(t, base.calls-r.calls, r.saved.Total().Calls, "%s: calls saved as counted", r.name)
		cell := func(s client.Saving) string { return fmt.Sprintf("%d cr, %d calls", s.Credits, s.Calls) }
		fmt.Fprintf(&b, "%-11s %8d %8d %8d | %-20s %-20s %-20s\n", r.name, r.requests, r.calls, r.credits,
			cell(r.saved.Coalesced), cell(r.saved.Cached), cell(r.saved.Batched))
	}
	all := runs[len(runs)-1]
	fmt.Fprintf(&b, "all features: %d of %d credits spent (%.0f%% saved), %d of %d calls\n", all.credits, base.credits,
		100*float64(base.credits-all.credits)/float64(base.credits), all.calls, base.calls)
	t.Log(b.String())
	for _, r := range runs[1:] {
		assert.Positive(t, r.saved.Total().Credits, "%s saves credits", r.name)
	}
}

// With WithUsage, what the rules saved is recorded under SavedTenant, by
// feature (the method) and integration (the application), apart from what
// was spent.
func TestSavedInUsage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := usage.New(time.Hour, 10)
		t.Cleanup(func() { _ = u.Close(context.Background()) })
		crm := newCRM(t)
		tr := newZoho(t, crm, client.WithTenant("acme"), client.WithUsage(u), metaRules(),
			client.WithBatching(client.BatchRule{Route: insertRoute}))
		for range 3 {
			mustRead(t, tr, "/crm/v8/users", "ann")
		}
		writes(tr, context.Background(), "POST", "/crm/v8/Leads", leads(3, 1))
		since, until := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		assert.ElementsMatch(t, []usage.Count{{Key: "cached", Credits: 2, Calls: 2}, {Key: "batched", Credits: 2, Calls: 2}},
			u.Top(client.SavedTenant("acme"), usage.Method, since, until, 10))
		apps := u.Top(client.SavedTenant("acme"), usage.App, since, until, 10)
		require.Len(t, apps, 1)
		assert.Equal(t, usage.Count{Key: client.DefaultIntegration, Credits: 4, Calls: 4}, apps[0])
		spent := u.Top("acme", usage.App, since, until, 10)
		require.Len(t, spent, 1)
		assert.Equal(t, int64(2), spent[0].Credits, "one read and one batch were spent")
	})
}
