package zoho_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/profile/zoho"
)

func ExampleEdition() {
	p, _ := zoho.Edition("standard", 10)
	fmt.Println(p.Credits, p.Concurrency, p.SubConcurrency[zoho.ClassComplex])
	// Output: 52500 10 10
}

func ExampleCostTable() {
	ct, _ := zoho.CostTable()
	r := httptest.NewRequest("POST", "/crm/v8/coql",
		strings.NewReader(`{"select_query":"select Last_Name from Leads limit 1000"}`))
	p, _ := ct.Lookup(r)
	fmt.Println(p.Credits, p.Class)
	// Output: 2 complex
}

func ExampleQueryLimitCost() {
	coql := zoho.QueryLimitCost("select_query", 200, 1<<20,
		zoho.Tier{UpTo: 200, Cost: 1}, zoho.Tier{UpTo: 1000, Cost: 2}, zoho.Tier{UpTo: 2000, Cost: 3})
	r := httptest.NewRequest("POST", "/crm/v8/coql",
		strings.NewReader(`{"select_query":"select Last_Name from Leads where Email = 'limit 1' limit 400, 1500"}`))
	c, _ := coql.Func(r)
	fmt.Println(c, coql.Min, coql.Max)
	// Output: 3 1 3
}

func ExampleErrorBodies() {
	free, _ := zoho.Edition("free", 0)
	l, _ := limiter.New(free)
	defer l.Close(context.Background())
	ct, _ := zoho.CostTable()
	api := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	h, _ := middleware.New(api, l, ct, middleware.WithErrorBodies(zoho.ErrorBodies{}))
	// A COQL query whose body is not JSON cannot be priced.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/crm/v8/coql", strings.NewReader("select")))
	fmt.Println(w.Code, w.Body.String())
	// Output: 400 {"code":"INVALID_DATA","details":{},"message":"the request cost could not be computed from its body","status":"error"}
}

// The credit savings on every Zoho route each fits, as the README shows
// them: here a second read of the users (metadata) comes from the cache.
func Example_savings() {
	calls := 0
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		fmt.Fprint(w, `{"users":[]}`)
	}))
	defer api.Close()
	plan, _ := zoho.Edition("enterprise", 25)
	costs, _ := zoho.CostTable()

	tr, _ := client.New(nil, client.WithPlan(plan), client.WithCosts(costs),
		client.WithCaching(zoho.CacheRules("v8", 10*time.Minute)...),      // users, roles, modules, fields, layouts, org, __apis
		client.WithCoalescing(zoho.CoalesceRules("v8")...),                // identical concurrent GETs share one call
		client.WithBatching(zoho.BatchRules("v8", 5*time.Millisecond)...)) // single-record writes sent 100 a call

	defer tr.Close(context.Background())
	hc := &http.Client{Transport: tr}
	for range 2 {
		resp, err := hc.Get(api.URL + "/crm/v8/users")
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
	}
	fmt.Printf("calls %d, saved %+v\n", calls, tr.Stats().Saved.Cached)
	// Output: calls 1, saved {Calls:1 Credits:1}
}
