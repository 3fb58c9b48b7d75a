package cost

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

// A route's Units reach its price by every path (Lookup's constant fast
// path, a Pricer's, Match and PriceBody), the default takes 0 (one unit),
// and a request read as several routes takes the most of any reading (the
// server may run any of them, as for the class).
func TestPriceUnits(t *testing.T) {
	ct, err := NewTable(1,
		Route{Pattern: "POST /api/composite", Cost: 1, Units: 5},
		Route{Pattern: "POST /api/body", Pricer: RecordsCost("data", 10, 10, 1<<20), Units: 3},
		Route{Pattern: "GET /api/{module}", Cost: 1},
		Route{Pattern: "POST /api/{module}", Cost: 2},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path, override string
		want                   int64
	}{
		{"POST", "/api/composite", "", 5},
		{"POST", "/api/body", "", 3},
		{"GET", "/api/Leads", "", 0},
		{"GET", "/nowhere", "", 0},
		// a GET the server may run as the POST it overrides to: both readings
		{"GET", "/api/composite", "POST", 5},
	} {
		r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(`{"data":[{}]}`))
		if tc.override != "" {
			r.Header.Set("X-HTTP-Method-Override", tc.override)
		}
		p, err := ct.Lookup(r)
		if err != nil || p.Units != tc.want {
			t.Errorf("Lookup %s %s (override %q): units %d, %v; want %d", tc.method, tc.path, tc.override, p.Units, err, tc.want)
		}
		m, err := ct.Match(r)
		if err == nil {
			err = ct.PriceBody(r, &m)
		}
		if err != nil || m.Units != tc.want {
			t.Errorf("Match %s %s (override %q): units %d, %v; want %d", tc.method, tc.path, tc.override, m.Units, err, tc.want)
		}
	}
	if _, err := NewTable(1, Route{Pattern: "/x", Cost: 1, Units: -1}); !errors.Is(err, ErrNegative) {
		t.Errorf("negative units: %v", err)
	}
}
