package cost_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/creditgate/creditgate/cost"
)

func ExampleNewTable() {
	ct, err := cost.NewTable(1,
		cost.Route{Pattern: "GET /crm/v8/{module}", Cost: 1},
		cost.Route{Pattern: "POST /crm/v8/{module}/upsert", Pricer: cost.RecordsCost("data", 10, 10, 1<<20)},
		cost.Route{Pattern: "POST /crm/bulk/v8/read", Cost: 50, Class: "bulk"},
	)
	if err != nil {
		panic(err)
	}
	body := `{"data":[` + strings.Repeat(`{},`, 24) + `{}]}` // 25 records
	p, _ := ct.Lookup(httptest.NewRequest("POST", "/crm/v8/Leads/upsert", strings.NewReader(body)))
	fmt.Println(p.Credits, p.Module)
	p, _ = ct.Lookup(httptest.NewRequest("POST", "/crm/bulk/v8/read", nil))
	fmt.Println(p.Credits, p.Class)
	_, err = cost.NewTable(1, cost.Route{Pattern: "GET /a/{x}"}, cost.Route{Pattern: "GET /{y}/b"})
	fmt.Println(err != nil)
	// Output:
	// 3 Leads
	// 50 bulk
	// true
}

func ExampleRecordsCost() {
	price := cost.RecordsCost("data", 10, 10, 1<<20).Func
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"data":[{"a":1},{"a":2}]}`))
	n, _ := price(r)
	var rest bytes.Buffer
	rest.ReadFrom(r.Body) // the body is still there for the handler
	fmt.Println(n, rest.Len())
	// Output: 1 26
}

func ExampleTable_Match() {
	ct, _ := cost.NewTable(1,
		cost.Route{Pattern: "POST /crm/v8/{module}/upsert", Pricer: cost.RecordsCost("data", 10, 10, 1<<20)},
		cost.Route{Pattern: "POST /crm/bulk/v8/read", Cost: 50, Class: "bulk"},
	)
	body := `{"data":[` + strings.Repeat(`{},`, 24) + `{}]}` // 25 records
	r := httptest.NewRequest("POST", "/crm/v8/Leads/upsert", strings.NewReader(body))
	// Admission before reading: refuse a declared body over p.MaxBody, take
	// the slots and p.Credits, the least the call costs...
	p, _ := ct.Match(r)
	fmt.Println(p.Credits, p.MaxBody)
	// ...then read the body and charge the rest.
	_ = ct.PriceBody(r, &p)
	fmt.Println(p.Credits, p.MaxBody)
	// A path that needs cleaning is priced as the route it reaches.
	p, _ = ct.Match(httptest.NewRequest("POST", "/crm//bulk/v8/read", nil))
	fmt.Println(p.Credits, p.Class, p.Unclean)
	// Output:
	// 1 1048576
	// 3 0
	// 50 bulk true
}

func ExamplePricer() {
	// Price by the size of an upload, read up to 1 MiB: 1 credit per 100 KB.
	perSize := cost.Pricer{Min: 1, Max: 11, MaxBody: 1 << 20,
		Func: func(r *http.Request) (int64, error) {
			buf, err := cost.ReadBody(r, 1<<20)
			return 1 + int64(len(buf))/100_000, err
		}}
	ct, _ := cost.NewTable(1, cost.Route{Pattern: "POST /files", Pricer: perSize})
	r := httptest.NewRequest("POST", "/files", strings.NewReader(strings.Repeat("x", 250_000)))
	p, _ := ct.Lookup(r)
	n, _ := io.Copy(io.Discard, r.Body) // the body is still there for the handler
	fmt.Println(p.Credits, n)
	// Output: 3 250000
}

// A GET that asks the server to run it as a POST is the POST to a server
// that honours the header, and is priced so.
func ExampleOverrideMethod() {
	r, _ := http.NewRequest(http.MethodGet, "https://api.example/crm/v8/Leads", nil)
	r.Header.Set("X-HTTP-Method-Override", " post ")
	fmt.Println(cost.OverrideMethod(r))
	// Output: POST
}

// Every line of every override header names a method a server may run the
// request as: the table prices each reading, and a reader that must know
// whether a request may write looks at them all.
func ExampleOverrideMethods() {
	r, _ := http.NewRequest(http.MethodGet, "https://api.example/crm/v8/Leads", nil)
	r.Header["X-Http-Method-Override"] = []string{"GET", "delete"}
	r.Header.Set("X-HTTP-Method", "PATCH")
	cost.OverrideMethods(r, func(m string) bool {
		fmt.Println(m)
		return true
	})
	// Output:
	// GET
	// DELETE
	// PATCH
}

// A proxy drops other spellings of the method override headers (CGI-style
// servers read X_HTTP_Method as X-HTTP-Method), so that its upstream runs a
// request as no method the table did not price.
func ExampleOverrideHeaders() {
	for _, h := range cost.OverrideHeaders() {
		fmt.Println(h)
	}
	// Output:
	// X-Http-Method-Override
	// X-Http-Method
	// X-Method-Override
}
