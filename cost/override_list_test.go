package cost

import (
	"net/http/httptest"
	"testing"
)

// A method override header's line is a comma-separated list (RFC 9110,
// 5.3: a recipient may join field lines with commas, and Node's http does),
// and a server may read any element of it: express's method-override takes
// the first element of the joined value. "POST, GET" on one line is the
// same reading as the lines POST and GET, which the table prices as the
// bulk read.
func TestMethodOverrideListElements(t *testing.T) {
	ct := issueTable(t)
	for _, line := range []string{"POST, GET", "GET,POST", " get , post ", "POST,"} {
		r := httptest.NewRequest("GET", "http://api.example.com/crm/bulk/v8/read", nil)
		r.Header["X-Http-Method-Override"] = []string{line}
		if p, err := ct.Lookup(r); err != nil || p.Credits != 50 || p.Class != "bulk" {
			t.Errorf("Lookup %q: %+v %v, want 50 bulk", line, p, err)
		}
		if p, err := ct.Match(r); err != nil || p.Credits != 50 || p.Class != "bulk" {
			t.Errorf("Match %q: %+v %v, want 50 bulk", line, p, err)
		}
	}
}
