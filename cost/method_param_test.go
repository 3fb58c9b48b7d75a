package cost

import (
	"errors"
	"net/http/httptest"
	"testing"
)

// The _method parameter of a POST (TestMethodParamOverride_r89) is read in
// the spellings Symfony/Laravel (PHP's $_GET) and express (Node's
// querystring) give it, on both paths, and only for a POST.
func TestMethodParamSpellings(t *testing.T) {
	ct, err := NewTable(1,
		Route{Pattern: "POST /crm/{module}/{id}", Cost: 2},
		Route{Pattern: "DELETE /crm/{module}/{id}", Cost: 9},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, target string
		want           int64
	}{
		{"POST", "/crm/Leads/1?_method=Delete", 9},
		{"POST", "/crm/Leads/1?a=1&_method=GET&_method=%20delete%20", 9}, // every pair: Symfony reads the last
		{"POST", "/crm/Leads/1?%5Fmethod=DELETE", 9},                     // unescaped key
		{"POST", "/crm/Leads/1?_m%65thod=DELETE", 9},
		{"POST", "/crm/Leads/1?.method=DELETE", 9}, // PHP: $_GET['_method']
		{"POST", "/crm/Leads/1?+%5Bmethod=DELETE", 9},
		{"POST", "/crm/Leads/1?x=1;_method=DELETE", 9},
		{"POST", "/crm/Leads/1?_method=%44ELETE", 9},
		{"POST", "/crm//Leads/1?_method=DELETE", 9}, // the slow path
		{"post", "/crm/Leads/1?_method=DELETE", 9},  // run as a POST (lowerMethod), then as DELETE
		{"POST", "/crm/Leads/1?_method=DEL%zzETE", 2},
		{"POST", "/crm/Leads/1?_methods=DELETE&method=DELETE&x_method=DELETE", 2},
		{"POST", "/crm/Leads/1?_method=", 2},
		{"POST", "/crm/Leads/1?x=method%20", 2},
		{"PUT", "/crm/Leads/1?_method=DELETE", 1}, // only a POST is run as its _method
	} {
		r := httptest.NewRequest(tc.method, tc.target, nil)
		r.Method = tc.method // httptest keeps it, but say so
		for name, f := range lookupAndMatch(ct, r) {
			p, err := f()
			if err != nil || p.Credits != tc.want || p.Unclean != (tc.want == 9) {
				t.Errorf("%s %s %s: %+v %v, want %d credits", name, tc.method, tc.target, p, err, tc.want)
			}
		}
	}
}

// _method counts as one more override: with three headers naming three
// other methods, a fourth from the parameter is still read, a fifth is one
// too many; without the parameter, a fourth is.
func TestMethodParamAmbiguous(t *testing.T) {
	ct, err := NewTable(1, Route{Pattern: "DELETE /x", Cost: 9})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/x?_method=DELETE", nil)
	r.Header.Set("X-Http-Method-Override", "PUT")
	r.Header.Set("X-Http-Method", "PATCH")
	r.Header.Set("X-Method-Override", "GET")
	if p, err := ct.Lookup(r); err != nil || p.Credits != 9 {
		t.Errorf("four methods: %+v %v, want 9", p, err)
	}
	r.Header.Add("X-Method-Override", "OPTIONS")
	if p, err := ct.Lookup(r); !errors.Is(err, ErrAmbiguousMethod) {
		t.Errorf("five methods: %+v %v, want ErrAmbiguousMethod", p, err)
	}
	// The parameter's room is its own: headers alone still name three.
	r = httptest.NewRequest("POST", "/x", nil)
	r.Header["X-Http-Method-Override"] = []string{"PUT", "PATCH", "GET", "DELETE"}
	if p, err := ct.Lookup(r); !errors.Is(err, ErrAmbiguousMethod) {
		t.Errorf("four methods in headers: %+v %v, want ErrAmbiguousMethod", p, err)
	}
}

// A POST whose query names no _method takes the fast path unchanged: one
// reading, no allocation.
func TestMethodParamAbsentFast(t *testing.T) {
	ct, err := NewTable(1, Route{Pattern: "POST /crm/{module}", Cost: 2}, Route{Pattern: "DELETE /crm/{module}", Cost: 9})
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/crm/Leads?a=b&c=d", "/crm/Leads?method=x&q=%41"} {
		r := httptest.NewRequest("POST", target, nil)
		if _, _, st := ct.fastView(r, new(pathCuts)); st != fastDone {
			t.Errorf("%s: fast view state %b, want fastDone alone", target, st)
		}
		if allocs := testing.AllocsPerRun(50, func() { _, _ = ct.Lookup(r) }); allocs != 0 {
			t.Errorf("%s: Lookup allocates %v", target, allocs)
		}
	}
}
