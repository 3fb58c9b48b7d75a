package cost

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Readings in two classes are refused with ErrClassConflict, by Match and
// Lookup alike (TestOtherReadingsClassDropped_r90); readings in one class,
// or in one class and none, are priced in that class.
func TestReadingsClassConflict(t *testing.T) {
	ct, err := NewTable(1,
		Route{Pattern: "POST /r/{id}", Cost: 5, Class: "a"},
		Route{Pattern: "POST /r/Special", Cost: 1, Class: "b"},
		Route{Pattern: "POST /s/{id}", Cost: 5, Class: "a"},
		Route{Pattern: "POST /s/Same", Cost: 1, Class: "a"},
		Route{Pattern: "POST /n/{id}", Cost: 5},
		Route{Pattern: "POST /n/Capped", Cost: 1, Class: "b"},
		Route{Pattern: "DELETE /r/{id}", Cost: 2, Class: "b"},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		target, class string // class "!": a conflict
	}{
		{"/r/special", "!"},
		{"/r//special", "!"},         // the slow path
		{"/r/1?_method=DELETE", "!"}, // ServeMux's reading in a, the override's in b
		{"/r/Special", "b"},
		{"/s/same", "a"},
		{"/n/capped", "b"}, // the dearest has none: the other's
		{"/n/1", ""},
	} {
		r := httptest.NewRequest("POST", tc.target, nil)
		for name, f := range lookupAndMatch(ct, r) {
			p, err := f()
			if tc.class == "!" {
				if !errors.Is(err, ErrClassConflict) {
					t.Errorf("%s POST %s: %+v %v, want ErrClassConflict", name, tc.target, p, err)
				}
				continue
			}
			if err != nil || p.Class != tc.class {
				t.Errorf("%s POST %s: %+v %v, want class %q", name, tc.target, p, err, tc.class)
			}
		}
	}
}

// lookupAndMatch returns Lookup and Match of r by name, for tests that
// hold both to one answer.
func lookupAndMatch(ct *Table, r *http.Request) map[string]func() (Price, error) {
	return map[string]func() (Price, error){
		"Lookup": func() (Price, error) { return ct.Lookup(r) },
		"Match":  func() (Price, error) { return ct.Match(r) },
	}
}
