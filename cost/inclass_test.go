package cost

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A Pricer's InClass puts some of its route's requests out of the route's
// class, decided at Match from the query; a body-priced route's class is
// its Class whatever the body says (the upsert here).
func TestPricerInClass(t *testing.T) {
	sorted := QueryParamCost("cvid", 3, 1)
	sorted.InClass = func(r *http.Request, _ int64) bool {
		return HasQueryParam(r, "cvid") || HasQueryParam(r, "sort_by")
	}
	many := RecordsCost("data", 10, 10, 1<<10)
	ct, err := NewTable(1,
		Route{Pattern: "GET /m/{module}", Pricer: sorted, Class: "complex"},
		Route{Pattern: "POST /m/{module}/upsert", Pricer: many, Class: "complex"},
	)
	if err != nil {
		t.Fatal(err)
	}
	records := func(n int) string {
		return `{"data":[` + strings.TrimSuffix(strings.Repeat(`1,`, n), ",") + `]}`
	}
	for _, tc := range []struct {
		method, target, body  string
		matchClass, lookClass string
		matchCredits, credits int64
	}{
		{"GET", "/m/Leads", "", "", "", 1, 1},
		{"GET", "/m/Leads?cvid=4", "", "complex", "complex", 3, 3},
		{"GET", "/m/Leads?sort_by=x", "", "complex", "complex", 1, 1},
		{"GET", "/m//Leads?sort_by=x", "", "complex", "complex", 1, 1}, // the slow path
		{"POST", "/m/Leads/upsert", records(10), "complex", "complex", 1, 1},
		{"POST", "/m/Leads/upsert", records(11), "complex", "complex", 1, 2},
		{"POST", "/m//Leads/upsert", records(10), "complex", "complex", 1, 1},
		{"POST", "/m//Leads/upsert", records(11), "complex", "complex", 1, 2},
		{"POST", "/m/Leads/Upsert", records(10), "complex", "complex", 1, 1}, // two readings: the default's, the loose one's
		{"POST", "/m/Leads/Upsert", records(11), "complex", "complex", 1, 2},
	} {
		r := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
		p, err := ct.Match(r)
		if err != nil || p.Class != tc.matchClass || p.Credits != tc.matchCredits {
			t.Errorf("Match %s %s: %+v %v, want %d %q", tc.method, tc.target, p, err, tc.matchCredits, tc.matchClass)
			continue
		}
		if err := ct.PriceBody(r, &p); err != nil || p.Class != tc.lookClass || p.Credits != tc.credits {
			t.Errorf("PriceBody %s %s: %+v %v, want %d %q", tc.method, tc.target, p, err, tc.credits, tc.lookClass)
		}
		r = httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
		if p, err := ct.Lookup(r); err != nil || p.Class != tc.lookClass || p.Credits != tc.credits {
			t.Errorf("Lookup %s %s: %+v %v, want %d %q", tc.method, tc.target, p, err, tc.credits, tc.lookClass)
		}
	}
}

// InClass decides among a Pricer's requests: without a Func there are none.
func TestPricerInClassNeedsFunc(t *testing.T) {
	_, err := NewTable(1, Route{Pattern: "GET /x", Cost: 2, Class: "c",
		Pricer: Pricer{InClass: func(*http.Request, int64) bool { return false }}})
	if !errors.Is(err, ErrArgs) {
		t.Errorf("NewTable: %v, want ErrArgs", err)
	}
}

// A class the body decides is refused: the middleware takes the class's
// slot at admission, before it reads the body (issue #13), so it would
// hold the slot for every request of the route while a client that prices
// the body (Lookup) holds it for some, and meets the server's 429s
// (session 22's review: reading such bodies first let refused callers cost
// the server a read each and hold the pricing budget).
func TestPricerInClassReadsNoBody(t *testing.T) {
	many := RecordsCost("data", 10, 10, 1<<10)
	many.InClass = func(_ *http.Request, credits int64) bool { return credits > 1 }
	_, err := NewTable(1, Route{Pattern: "POST /m/{module}/upsert", Pricer: many, Class: "complex"})
	if !errors.Is(err, ErrArgs) {
		t.Errorf("NewTable: %v, want ErrArgs", err)
	}
}

func TestHasQueryParam(t *testing.T) {
	for target, want := range map[string]bool{
		"/x":                false,
		"/x?a=1":            false,
		"/x?sort_by=":       true,
		"/x?a=1&sort%5Fby":  true,
		"/x?sort_byx=1":     false,
		"/x?%zz=1":          true, // another parser may read it as sort_by
		"/x?a=1;sort_by=2":  true,
		"/x?sort_by=%zz":    true,
		"/x?a=sort_by&b=cd": false,
	} {
		if got := HasQueryParam(httptest.NewRequest("GET", target, nil), "sort_by"); got != want {
			t.Errorf("HasQueryParam(%q): %v, want %v", target, got, want)
		}
	}
	if HasQueryParam(&http.Request{Method: "GET"}, "sort_by") {
		t.Error("HasQueryParam of a request without a URL: true")
	}
}
