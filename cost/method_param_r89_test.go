package cost

import (
	"net/http/httptest"
	"testing"
)

// The table prices a request as every method its override headers name
// (X-HTTP-Method-Override and the like), for servers that honour them. The
// other common override, the _method parameter, is not read: Symfony and
// Laravel (Request::getMethod with http_method_parameter_override, which
// Laravel turns on) and express's method-override('_method') run "POST
// /x?_method=GET" as GET. Here a 3-credit GET (a custom view) sent as such
// a POST is priced as the POST route, 1 credit.
func TestMethodParamOverride_r89(t *testing.T) {
	ct, err := NewTable(1,
		Route{Pattern: "GET /crm/{module}", Pricer: QueryParamCost("cvid", 3, 1)},
		Route{Pattern: "POST /crm/{module}", Cost: 1},
		Route{Pattern: "DELETE /crm/{module}/{id}", Cost: 9},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		target string
		want   int64
	}{
		{"/crm/Leads?cvid=7&_method=GET", 3},
		{"/crm/Leads/1?_method=DELETE", 9},
		{"/crm/Leads/1?_method=delete", 9},
	} {
		p, err := ct.Lookup(httptest.NewRequest("POST", tc.target, nil))
		if err != nil {
			t.Errorf("POST %s: %v", tc.target, err)
			continue
		}
		if p.Credits < tc.want {
			t.Errorf("POST %s: %d credits (%q), run as the _method by Symfony, Laravel, express: %d", tc.target, p.Credits, p.Pattern, tc.want)
		}
	}
}
