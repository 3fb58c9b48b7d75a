package zoho_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/creditgate/creditgate/profile/zoho"
)

// "POST /crm/v8/COQL" is two routes to the table: ServeMux's "POST
// {module}" (records, up to 10 credits, no class) and, for a backend that
// routes ignoring case (which the table prices for), COQL (class complex, then query).
// The price is the dearer of the two readings, 3 for a LIMIT 2000 query, as
// COQL's; but the class is that of the reading that *could* cost the most,
// {module}'s, none: on such a backend the query runs without taking a slot
// of Zoho's query sub-concurrency (10). The case-exact spelling takes one.
func TestCaseTwinOfCOQLTakesQueryClass_r89(t *testing.T) {
	ct, err := zoho.CostTable()
	if err != nil {
		t.Fatal(err)
	}
	body := `{"select_query":"select id from Leads limit 2000"}`
	for _, path := range []string{"/crm/v8/coql", "/crm/v8/COQL", "/crm/v8/Coql"} {
		p, err := ct.Lookup(httptest.NewRequest("POST", path, strings.NewReader(body)))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if p.Credits != 3 || p.Class != zoho.ClassComplex {
			t.Errorf("POST %s: %d credits, class %q (pattern %q); COQL's reading costs 3 in class %q",
				path, p.Credits, p.Class, p.Pattern, zoho.ClassComplex)
		}
	}
}
