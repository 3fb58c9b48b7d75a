package zoho_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/creditgate/creditgate/profile/zoho"
)

// Zoho CRM has an API version 2.1 between 2 and 3 (the version list of
// Zoho's v7 pages, mirrored in the fact sheet's source [9]: "Version 2
// Version 2.1 Version 3 ... Version 8"; https://www.zohoapis.com/crm/v2.1/).
// CostTable prices v2 to v9 but not v2.1, so every v2.1 call costs the
// default 1, outside its class: a 500-credit bulk write, a 20-credit mail,
// a COQL query outside the query cap.
func TestCostTableVersion21_r89(t *testing.T) {
	ct, err := zoho.CostTable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, body string
		credits    int64
		class      string
	}{
		{"/crm/bulk/v2.1/write", "{}", 500, zoho.ClassComplex},
		{"/crm/v2.1/Leads/4/actions/send_mail", "{}", 20, zoho.ClassComplex},
		{"/crm/v2.1/coql", `{"select_query":"select id from Leads limit 2000"}`, 3, zoho.ClassComplex},
		{"/crm/v2.1/Leads/4/actions/convert", "{}", 5, zoho.ClassComplex},
	} {
		p, err := ct.Lookup(httptest.NewRequest("POST", tc.path, strings.NewReader(tc.body)))
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		if p.Credits != tc.credits || p.Class != tc.class {
			t.Errorf("POST %s: %d credits, class %q (pattern %q); v2's route: %d, %q", tc.path, p.Credits, p.Class, p.Pattern, tc.credits, tc.class)
		}
	}
}
