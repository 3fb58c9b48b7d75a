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

// upperIs(s, up) is strings.ToUpper(s) == up, for every pair of a set of
// spellings with case, non-ASCII letters whose upper case differs in
// length or folds onto ASCII, and invalid UTF-8.
func TestUpperIs(t *testing.T) {
	words := []string{"", "a", "A", "get", "GET", "gEt", "GETS", "delete", "é", "É", "ſ", "S", "ı", "I",
		"ǆ", "Ǆ", "\u212a", "K", "k", "\xff", "\ufffd", "get\xff", "GET\ufffd", "ß", "SS", "ﬀ"}
	for _, s := range words {
		for _, up := range append(words, strings.ToUpper(s)) {
			if got, want := upperIs(s, up), strings.ToUpper(s) == up; got != want {
				t.Errorf("upperIs(%q, %q) = %v, want %v", s, up, got, want)
			}
		}
	}
}
