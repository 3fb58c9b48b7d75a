package zoho_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/profile/zoho"
	"github.com/creditgate/creditgate/store"
)

// The fact sheet (docs/credit-limits.md, section 3, "Sub-concurrency"): "a
// group of complex APIs shares a limit of 10, the same on all editions", and
// zoho.go called its classes "API classes that share Zoho's sub-concurrency
// limit". With 10 complex calls in flight, an 11th complex call of any kind
// must be refused; the profile gave each class a cap of its own, so 50
// complex calls (10 of each of 5 classes) went through at once. The calls
// are priced by the profile's own table, so each takes the class its route
// has.
func TestSubConcurrencySharedAcrossClasses_r89(t *testing.T) {
	table, err := zoho.CostTable()
	if err != nil {
		t.Fatal(err)
	}
	plan, err := zoho.Edition("ultimate", 1000) // concurrency 25 per app
	if err != nil {
		t.Fatal(err)
	}
	l, err := limiter.New(plan)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var held []limiter.Ticket
	defer func() {
		for _, tk := range held {
			tk.Release()
		}
	}()
	admitted := 0
	// Two applications, so the per-app concurrency cap (25) is not what refuses.
	calls := []struct{ path, body string }{
		{"/crm/bulk/v8/read", "{}"},
		{"/crm/v8/coql", `{"select_query":"select id from Leads"}`},
		{"/crm/v8/Leads/4/actions/convert", "{}"},
		{"/crm/v8/Leads/4/actions/send_mail", "{}"},
		{"/crm/v8/__composite_requests", "{}"},
	}
	for i, c := range calls {
		pr, err := table.Lookup(httptest.NewRequest("POST", c.path, strings.NewReader(c.body)))
		if err != nil || pr.Class == "" {
			t.Fatalf("POST %s: %+v, %v: a complex API without a class", c.path, pr, err)
		}
		for j := 0; j < zoho.SubConcurrency; j++ {
			app := fmt.Sprintf("app%d", (i*zoho.SubConcurrency+j)%3)
			tk, d := l.Acquire(now, store.Request{Tenant: "org", App: app, Class: pr.Class, Credits: 1})
			if d.Allowed {
				held = append(held, tk)
				admitted++
			}
		}
	}
	if admitted > zoho.SubConcurrency {
		t.Errorf("%d complex calls in flight at once; Zoho's shared sub-concurrency limit is %d", admitted, zoho.SubConcurrency)
	}
}

// The fact sheet, section 2: "Mail-merge download: 5 (1 if it fails)",
// and "__apis ... Sample values: send_mail 20, merge 50". The table lists
// send_mail but not these two, so each falls to the default of 1: a caller
// pays 1 credit for a call that costs Zoho's pool 50 (merge) or 5.
func TestCostTableDearCallsPricedAtDefault_r89(t *testing.T) {
	ct, err := zoho.CostTable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path string
		atLeast      int64
		source       string
	}{
		{"POST", "/crm/v8/Leads/4/actions/merge", 50, "__apis sample: merge 50"},
		{"POST", "/crm/v8/Leads/4/actions/download_mail_merge", 5, "Mail-merge download: 5"},
	} {
		p, err := ct.Lookup(httptest.NewRequest(tc.method, tc.path, strings.NewReader("{}")))
		if err != nil {
			t.Errorf("%s %s: %v", tc.method, tc.path, err)
			continue
		}
		if p.Credits < tc.atLeast {
			t.Errorf("%s %s: %d credits (pattern %q); the fact sheet: %s", tc.method, tc.path, p.Credits, p.Pattern, tc.source)
		}
	}
}

// The fact sheet, section 2: Composite "uses 5 concurrency units and 1
// sub-concurrency unit". With Free's cap of 5 in flight per application one
// composite call fills it; the profile takes one slot, so five run at once.
func TestCompositeTakesFiveConcurrencyUnits_r89(t *testing.T) {
	plan, err := zoho.Edition("free", 0)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := zoho.CostTable()
	if err != nil {
		t.Fatal(err)
	}
	p, err := ct.Lookup(httptest.NewRequest("POST", "/crm/v8/__composite_requests", strings.NewReader("{}")))
	if err != nil {
		t.Fatal(err)
	}
	l, err := limiter.New(plan)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	admitted := 0
	for range 5 {
		tk, d := l.Acquire(now, store.Request{Tenant: "org", App: "app", Class: p.Class, Credits: p.Credits, Units: p.Units})
		if d.Allowed {
			defer tk.Release()
			admitted++
		}
	}
	if admitted > 1 {
		t.Errorf("%d composite calls in flight on Free (5 concurrency units each, cap 5)", admitted)
	}
}

// The fact sheet, section 5 (line 60): "429: code TOO_MANY_REQUESTS, meaning
// the 24-h credits are spent or the concurrency limit is hit"; section 9
// (line 108): "429, body code TOO_MANY_REQUESTS for credits or concurrency
// (LIMIT_EXCEEDED in composite samples)". LIMIT_EXCEEDED is the code of a
// composite sub-request over its count limit (line 61), not of spent
// credits; ErrorBodies writes it for every credits refusal, so a Zoho SDK or
// client that waits out TOO_MANY_REQUESTS misreads the server's 429.
func TestCreditsRefusalCode_r89(t *testing.T) {
	f := middleware.Refusal{By: middleware.ByCredits, Cost: 1, Limit: 5000, Remaining: 0,
		Reset: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), RetryAfter: time.Minute}
	var b zoho.ErrorBody
	raw := zoho.ErrorBodies{}.AppendRefusal(nil, f)
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	if b.Code != "TOO_MANY_REQUESTS" {
		t.Errorf("credits refusal: code %q, Zoho sends TOO_MANY_REQUESTS for spent credits: %s", b.Code, raw)
	}
}

// The fact sheet, section 2 (line 36): "Composite: 1 credit. With
// rollback_on_fail it costs 1 if a rollback happens, 2 if every
// sub-request succeeds." The table prices every composite call at 1 and its
// comment leaves the 2 to "the caller", who settles afterwards; the gateway
// (cmd/creditgate), a reverse proxy, never does, so a successful
// rollback_on_fail composite costs the pool 1 where it costs Zoho's 2. The
// body says rollback_on_fail before the call: priced from it, the call is
// never too low (the table's rule for what it cannot know, as for COQL's
// open literals), 2 at most 1 too high.
func TestCompositeRollbackOnFailPricedTwo_r89(t *testing.T) {
	ct, err := zoho.CostTable()
	if err != nil {
		t.Fatal(err)
	}
	body := `{"rollback_on_fail":true,"__composite_requests":[{"method":"GET","uri":"/crm/v8/Leads"}]}`
	p, err := ct.Lookup(httptest.NewRequest("POST", "/crm/v8/__composite_requests", strings.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	if p.Credits < 2 {
		t.Errorf("composite with rollback_on_fail: %d credits, Zoho charges 2 when it succeeds", p.Credits)
	}
}

// The fact sheet, section 4 (line 50): X-API-CREDITS-REMAINING is "sent only
// once usage is at 50% or more of the allowance, add-on credits excluded".
// Enterprise with 10 licences has an allowance of 60,000; with 40,000 add-on
// credits the pool is 100,000. Zoho starts sending the header at 30,000 used;
// the middleware, which knows only the pool, at 50,000.
func TestCreditsRemainingHeaderExcludesAddOns_r89(t *testing.T) {
	plan, err := zoho.Enterprise.Plan(10, 40000)
	if err != nil {
		t.Fatal(err)
	}
	l, err := limiter.New(plan)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	ct, err := zoho.CostTable()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	h, err := middleware.New(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), l, ct,
		middleware.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	l.Charge(now, "", 35000) // 35,000 used: more than half the allowance, add-ons excluded
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/crm/v8/Leads", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if rec.Header().Get(middleware.HeaderCreditsRemaining) == "" {
		t.Errorf("35,001 of an allowance of 60,000 used (pool 100,000 with add-ons): no %s; headers %v",
			middleware.HeaderCreditsRemaining, rec.Header())
	}
}

// Below half the allowance (29,999 of 60,000 used, add-ons aside) Zoho
// sends no X-API-CREDITS-REMAINING; from 30,000 it does: the header's
// threshold is the allowance's half, not sooner.
func TestCreditsRemainingHeaderFromHalfAllowance(t *testing.T) {
	plan, err := zoho.Enterprise.Plan(10, 40000)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := zoho.CostTable()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		before int64 // used before the call, which costs 1
		sent   bool
	}{{29998, false}, {29999, true}, {35000, true}} {
		l, err := limiter.New(plan)
		if err != nil {
			t.Fatal(err)
		}
		h, err := middleware.New(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), l, ct,
			middleware.WithClock(func() time.Time { return now }))
		if err != nil {
			t.Fatal(err)
		}
		l.Charge(now, "", tc.before)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/crm/v8/Leads", nil))
		if _, sent := rec.Header()[http.CanonicalHeaderKey(middleware.HeaderCreditsRemaining)]; sent != tc.sent {
			t.Errorf("%d used: %s sent %v, want %v", tc.before+1, middleware.HeaderCreditsRemaining, sent, tc.sent)
		}
		_ = l.Close(context.Background())
	}
}
