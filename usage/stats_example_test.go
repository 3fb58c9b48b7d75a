package usage_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/usage"
)

// A tenant whose name is not valid UTF-8 (or is longer than
// usage.MaxKeyBytes) is listed under a changed key: valid UTF-8, "…" and a
// hash. TenantName gives back the name, which a dashboard asks a limiter
// for that tenant's pool by.
func ExampleStats_TenantName() {
	u := usage.New(0, 0)
	defer u.Close(context.Background())
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	u.Record(usage.Event{At: at, Tenant: "globex", App: "sync", Credits: 2})
	u.Record(usage.Event{At: at, Tenant: "\xffacme", App: "sync", Credits: 3})
	for _, key := range u.Tenants() {
		name, ok := u.TenantName(key)
		shown, _, changed := strings.Cut(key, "…") // what is shown of the name, and whether a hash follows
		fmt.Printf("listed as %q (changed: %v): %q %v\n", shown, changed, name, ok)
	}
	fmt.Println(u.TenantName("initech"))
	// Output:
	// listed as "globex" (changed: false): "globex" true
	// listed as "�acme" (changed: true): "\xffacme" true
	//  false
}

// A limiter records each decision on the request it decided: the keys are
// read where the request holds them, and the buffer is the call's own (its
// settle later uses the same, so the two are aggregated in order).
// RecordRequest reports a call that it counted under Other (past the
// tenant cap), whose settle or refusal should then name Other.
func ExampleStats_RecordRequest() {
	u := usage.New(0, 0)
	defer u.Close(context.Background())
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	req := store.Request{Tenant: "acme", App: "sync", Module: "Leads", Method: "GET", Credits: 2}
	const buf = 0x9e3779b97f4a7c15 // any well-mixed value, one per caller or core
	folded := u.RecordRequest(buf, at, &req, req.Credits, false)
	u.RecordRequest(buf, at, &req, 0, true) // the next call is refused
	fmt.Println("counted under Other:", folded)
	for _, c := range u.Top("acme", usage.Module, at, at.Add(time.Hour), 5) {
		fmt.Printf("%s: %d credits, %d calls, %d refused\n", c.Key, c.Credits, c.Calls, c.Refused)
	}
	// Output:
	// counted under Other: false
	// Leads: 2 credits, 1 calls, 1 refused
}

// A caller that decides with a store of its own begins the record before
// its store decides and finishes it with the decision: what the record
// reads of the statistics (the tenant filter, the open run) is then
// loaded while the store's lookup waits on memory. This is RecordRequest
// in two halves, which a limiter with usage statistics calls.
func ExampleStats_Begin() {
	u := usage.New(0, 0)
	defer u.Close(context.Background())
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	req := store.Request{Tenant: "acme", App: "sync", Method: "GET", Credits: 3}
	const buf = 0x9e3779b97f4a7c15
	rec := u.Begin(buf, at.Unix(), &req)
	allowed, cost := true, req.Credits // the store's decision, made here
	folded := u.Finish(rec, &req, cost, !allowed)
	fmt.Println("counted under Other:", folded)
	for _, c := range u.TenantRows(at, at.Add(time.Hour)) {
		fmt.Printf("%s: %d credits, %d calls\n", c.Key, c.Credits, c.Calls)
	}
	// Output:
	// counted under Other: false
	// acme: 3 credits, 1 calls
}
