package cost

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// A hostile request may repeat one override method in every spelling of
// its case, on thousands of lines or as thousands of comma-separated
// elements of one line: the table reads each, but its work stays a walk
// over the header, with allocations for the distinct methods it reads the
// request as (at most maxOverrideMethods), not one per line or element
// (Go's server made one string per line; a 1 MB line of "a,A,a,..." is
// one string and was half a million allocations).
func TestOverrideManyLinesBoundedAllocs(t *testing.T) {
	ct := issueTable(t)
	spellings := []string{"delete", "Delete", "dElete", "deLete", "post", "Post", "pOST", "é", "É"}
	many := make([]string, 10000)
	for i := range many {
		many[i] = spellings[i%len(spellings)]
	}
	for name, lines := range map[string][]string{
		"lines":    many,
		"elements": {strings.Join(many, ",")},
	} {
		r := httptest.NewRequest("GET", "http://api.example.com/crm/bulk/v8/read", nil)
		r.Header["X-Http-Method-Override"] = lines
		p, err := ct.Lookup(r)
		if err != nil || p.Credits != 50 {
			t.Errorf("%s: %+v %v, want the bulk read's 50", name, p, err)
		}
		allocs := testing.AllocsPerRun(5, func() { _, _ = ct.Lookup(r) })
		if allocs > 20 {
			t.Errorf("%s: %v allocations for %d override readings of three methods", name, allocs, len(many))
		}
	}
}
