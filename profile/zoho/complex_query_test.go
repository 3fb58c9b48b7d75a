package zoho_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/creditgate/creditgate/profile/zoho"
)

// The fact sheet (section 3, secondary v8 quotes) also names Get Records
// with cvid or sort_by, and upserts of more than 10 records, as complex
// APIs: they hold the complex class (cap 10) with the others. A plain Get
// Records, and an upsert of 10 records or fewer, do not. Inserts and
// updates are not named: out of the class at any size.
func TestComplexByQueryAndRecords(t *testing.T) {
	ct, err := zoho.CostTable()
	if err != nil {
		t.Fatal(err)
	}
	records := func(n int) string {
		return `{"data":[` + strings.TrimSuffix(strings.Repeat(`{"a":1},`, n), ",") + `]}`
	}
	for _, tc := range []struct {
		method, path, body string
		credits            int64
		class              string
	}{
		{"GET", "/crm/v8/Leads?cvid=55", "", 3, zoho.ClassComplex},
		{"GET", "/crm/v8/Leads?page=2&cvid=55", "", 3, zoho.ClassComplex},
		{"GET", "/crm/v8/Leads?sort_by=Created_Time&sort_order=desc", "", 1, zoho.ClassComplex},
		{"GET", "/crm/v2.1/Leads?sort_by=Email", "", 1, zoho.ClassComplex},
		{"GET", "/crm/v8/Leads?s%6Frt_by=Email", "", 1, zoho.ClassComplex},  // the key unescaped
		{"GET", "/crm/v8/Leads?sort_by%zz=Email", "", 3, zoho.ClassComplex}, // may be sort_by (or cvid) to another parser
		{"GET", "/crm/v8/Leads", "", 1, ""},
		{"GET", "/crm/v8/Leads?page=2&sort_order=desc", "", 1, ""},
		{"GET", "/crm/v8/Leads/1?sort_by=Email", "", 1, ""}, // one record: not Get Records
		{"POST", "/crm/v8/Deals/upsert", records(11), 2, zoho.ClassComplex},
		{"POST", "/crm/v8/Deals/upsert", records(100), 10, zoho.ClassComplex},
		{"POST", "/crm/v2/Deals/upsert", records(11), 2, zoho.ClassComplex},
		{"POST", "/crm/v8/Deals/upsert", records(10), 1, ""},
		{"POST", "/crm/v8/Deals/upsert", records(1), 1, ""},
		{"POST", "/crm/v8/Deals/upsert", "", 1, ""},
		{"POST", "/crm/v8/Deals", records(11), 2, ""},
		{"PUT", "/crm/v8/Deals", records(100), 10, ""},
	} {
		r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		p, err := ct.Lookup(r)
		if err != nil || p.Credits != tc.credits || p.Class != tc.class {
			t.Errorf("%s %s with %d bytes: %d credits, class %q (%s), %v; want %d, %q",
				tc.method, tc.path, len(tc.body), p.Credits, p.Class, p.Pattern, err, tc.credits, tc.class)
		}
	}
}
