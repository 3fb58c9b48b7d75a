package cost

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
)

// A request line's method in lower case ("post") reaches no route of a
// ServeMux, but Django and Flask (Werkzeug) upper-case REQUEST_METHOD and
// ASP.NET Core compares methods ignoring case: behind this table such a
// backend runs "post /bulk/write" as a POST. The table prices it as the
// default, 1 credit outside the bulk class, where the route costs 500; the
// override headers are already read in any case (OverrideMethods upper-cases
// them), the request line is not. Net/http's server accepts any token as a
// method, so the request gets through to the table as written.
func TestLowerCaseMethodPricedAsRoute_r89(t *testing.T) {
	ct, err := NewTable(1,
		Route{Pattern: "POST /bulk/write", Cost: 500, Class: "bulk"},
		Route{Pattern: "GET /crm/{module}", Cost: 2},
		Route{Pattern: "DELETE /crm/{module}/{id}", Cost: 7},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		line  string
		want  int64
		class string
	}{
		{"post /bulk/write", 500, "bulk"},
		{"Post /bulk/write", 500, "bulk"},
		{"post /bulk//write", 500, "bulk"}, // the slow path too
		{"get /crm/Leads", 2, ""},
		{"delete /crm/Leads/1", 7, ""},
	} {
		raw := tc.line + " HTTP/1.1\r\nHost: x\r\n\r\n"
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			t.Fatalf("%q: net/http refuses it: %v", tc.line, err)
		}
		for name, f := range map[string]func(*http.Request) (Price, error){"Match": ct.Match, "Lookup": ct.Lookup} {
			p, err := f(r)
			if err != nil {
				t.Errorf("%s %q: %v", name, tc.line, err)
				continue
			}
			if p.Credits < tc.want || p.Class != tc.class || !p.Unclean {
				t.Errorf("%s %q: %d credits, class %q, unclean %v; an upper-casing backend runs it as %s at %d, class %q",
					name, tc.line, p.Credits, p.Class, p.Unclean, strings.ToUpper(r.Method), tc.want, tc.class)
			}
		}
	}
}
