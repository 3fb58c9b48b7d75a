package cost_test

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/creditgate/creditgate/cost"
)

func ExampleNewTable() {
	ct, err := cost.NewTable(1,
		cost.Route{Pattern: "GET /crm/v8/{module}", Cost: 1},
		cost.Route{Pattern: "POST /crm/v8/{module}/upsert", CostFunc: cost.RecordsCost(10, 10, 1<<20)},
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
	price := cost.RecordsCost(10, 10, 1<<20)
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"data":[{"a":1},{"a":2}]}`))
	n, _ := price(r)
	var rest bytes.Buffer
	rest.ReadFrom(r.Body) // the body is still there for the handler
	fmt.Println(n, rest.Len())
	// Output: 1 26
}
