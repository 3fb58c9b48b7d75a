package demo

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creditgate/creditgate/middleware/client"
)

// integration is one simulated client application: its habits without the
// governor, its rules with it, and its day's work.
type integration struct {
	name string // its client id (X-Client-Id): the dashboard's application
	does string // what it does, in one line
	unit string // what its work done counts
	// want is the units of work it has to do in a day.
	want int64
	// rules are the governor's for it.
	rules client.Integration
	// Without the governor it retries a 429 retries times on its own (-1:
	// until the day ends), pause apart (for a 10 s day), whatever
	// Retry-After says.
	retries int
	pause   time.Duration
	work    func(r *run, it *integration)
}

// The day's schedule: how many of each unit, and when the export starts.
const (
	syncPolls    = 40
	syncWrites   = 4 // contacts upserted per poll, one call each
	exportJobs   = 200
	exportAt     = 0.2 // of the day
	exportAtOnce = 14  // bulk reads in flight: more than the class cap of 10
	visitors     = 60
	queries      = 50
	naiveRetries = 10 // the script's
)

// Governor rules: the export may spend half the pool; the forms keep a
// tenth of it for themselves and go first.
const (
	exportQuota = 50.0
	formsShare  = 10.0
)

// integrations are the demo's four clients, in the order they are shown.
func integrations() []*integration {
	return []*integration{
		{name: "sync", unit: "polls done", want: syncPolls, rules: client.Integration{Name: "sync"},
			does: fmt.Sprintf("a polling sync: %d times a day it reads the Contacts fields (metadata), lists changed contacts and upserts %d of them, one call each", syncPolls, syncWrites),
			work: syncWork},
		{name: "export", unit: "bulk reads done", want: exportJobs, rules: client.Integration{Name: "export", Quota: exportQuota},
			retries: -1, pause: 10 * time.Millisecond,
			does: fmt.Sprintf("a bulk export: at %s it asks for %d bulk reads (50 credits each: twice the pool), %d at a time; it ignores Retry-After and retries after 10 ms",
				clock(exportAt), exportJobs, exportAtOnce),
			work: exportWork},
		{name: "forms", unit: "forms served", want: visitors, rules: client.Integration{Name: "forms", Reserve: formsShare, Priority: 1},
			does: fmt.Sprintf("web forms: %d visitors a day each read the Leads layout and submit a lead; one lead in four is converted (5 credits)", visitors),
			work: formsWork},
		{name: "script", unit: "queries done", want: queries, rules: client.Integration{Name: "script"},
			retries: naiveRetries,
			does:    fmt.Sprintf("a report script: %d COQL queries a day; it retries every 429 at once, up to %d times", queries, naiveRetries),
			work:    scriptWork},
	}
}

// clock is a fraction of the day as a time of day.
func clock(f float64) string {
	m := int(f * 24 * 60)
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

// ok reports a 2xx status.
func ok(status int) bool { return status >= 200 && status < 300 }

func syncWork(r *run, it *integration) {
	for i := range syncPolls {
		if !r.sleepUntil(r.at((float64(i) + 0.5) / syncPolls)) {
			return
		}
		done := ok(r.call(it, "GET", "/crm/v8/settings/fields?module=Contacts", ""))
		done = ok(r.call(it, "GET", "/crm/v8/Contacts?fields=Last_Name,Email&modified_since=today", "")) && done
		var wg sync.WaitGroup
		var failed atomic.Bool
		for j := range syncWrites {
			wg.Go(func() {
				body := fmt.Sprintf(`{"data":[{"Last_Name":"Contact %d-%d","Email":"c%d-%d@example.test"}]}`, i, j, i, j)
				if !ok(r.call(it, "POST", "/crm/v8/Contacts/upsert", body)) {
					failed.Store(true)
				}
			})
		}
		wg.Wait()
		if done && !failed.Load() {
			r.tally(it).done.Add(1)
		}
	}
}

func exportWork(r *run, it *integration) {
	if !r.sleepUntil(r.at(exportAt)) {
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range exportAtOnce {
		wg.Go(func() {
			for next.Add(1) <= exportJobs && !r.over() {
				st := r.call(it, "POST", "/crm/bulk/v8/read", `{"query":{"module":{"api_name":"Deals"}}}`)
				if !ok(st) {
					return // the day is over, or the governor postponed it to tomorrow
				}
				r.tally(it).done.Add(1)
			}
		})
	}
	wg.Wait()
}

func formsWork(r *run, it *integration) {
	var wg sync.WaitGroup
	for i := range visitors {
		if !r.sleepUntil(r.at((float64(i) + 0.25) / visitors)) {
			break
		}
		wg.Go(func() {
			if !ok(r.call(it, "GET", "/crm/v8/settings/layouts?module=Leads", "")) {
				return
			}
			lead := fmt.Sprintf(`{"data":[{"Last_Name":"Visitor %d","Email":"v%d@example.test","Lead_Source":"Web Form"}]}`, i, i)
			if !ok(r.call(it, "POST", "/crm/v8/Leads", lead)) {
				return
			}
			if i%4 == 3 && !ok(r.call(it, "POST", fmt.Sprintf("/crm/v8/Leads/%d/actions/convert", 4_000_000+i), `{"data":[{"overwrite":true}]}`)) {
				return
			}
			r.tally(it).done.Add(1)
		})
	}
	wg.Wait()
}

func scriptWork(r *run, it *integration) {
	for i := range queries {
		if !r.sleepUntil(r.at((float64(i) + 0.5) / queries)) {
			return
		}
		q := `{"select_query":"select Deal_Name, Amount from Deals where Stage = 'Closed Won' limit 200"}`
		if ok(r.call(it, "POST", "/crm/v8/coql", q)) {
			r.tally(it).done.Add(1)
		}
	}
}
