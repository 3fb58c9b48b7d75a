package cost

import (
	"errors"
	"net/http/httptest"
	"testing"
)

// A server may read a method override header's last line, or another of
// the three headers than the first one present: GET /crm/bulk/v8/read with
// "X-HTTP-Method-Override: GET" and a second line (or an X-HTTP-Method
// line) saying POST runs as the bulk read there. Every line is a reading,
// and the dearest wins.
func TestMethodOverrideEveryLine(t *testing.T) {
	ct := issueTable(t)
	for _, lines := range [][2][]string{
		{{"GET", "POST"}, nil},
		{{"GET", "get", " post "}, nil},
		{{"GET"}, {"GET", "POST"}},
	} {
		r := httptest.NewRequest("GET", "http://api.example.com/crm/bulk/v8/read", nil)
		r.Header["X-Http-Method-Override"] = lines[0]
		if lines[1] != nil {
			r.Header["X-Http-Method"] = lines[1]
		}
		if p, err := ct.Lookup(r); err != nil || p.Credits != 50 || p.Class != "bulk" {
			t.Errorf("Lookup %q: %+v %v, want 50 bulk", lines, p, err)
		}
		if p, err := ct.Match(r); err != nil || p.Credits != 50 || p.Class != "bulk" {
			t.Errorf("Match %q: %+v %v, want 50 bulk", lines, p, err)
		}
	}
	// More methods named than a request can be read as in bounded work:
	// refused, never priced by the first few only.
	r := httptest.NewRequest("GET", "http://api.example.com/crm/bulk/v8/read", nil)
	r.Header["X-Http-Method-Override"] = []string{"PUT", "PATCH", "DELETE", "OPTIONS", "POST"}
	if p, err := ct.Lookup(r); !errors.Is(err, ErrAmbiguousMethod) {
		t.Errorf("Lookup of five override methods: %+v %v, want ErrAmbiguousMethod", p, err)
	}
	if p, err := ct.Match(r); !errors.Is(err, ErrAmbiguousMethod) {
		t.Errorf("Match of five override methods: %+v %v, want ErrAmbiguousMethod", p, err)
	}
}
