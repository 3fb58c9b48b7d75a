package config

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// Under version all (the default), a route of one's own under a Zoho
// version's path (GET /crm/v8/custom_thing) was added for that version
// alone, while an override of a profile route applies to every version: a
// client paid the default (and escaped the route's class) by naming
// /crm/v7/custom_thing. A new route under /crm/vN/ or /crm/bulk/vN/, N a
// version the table prices, is spread to every version, as overrides are;
// a route outside those paths (or under a version the table does not
// price) is added once; one version's only under costs.version vN.
func TestCostsRouteUnderVersionAll(t *testing.T) {
	const routes = `
  routes:
    - {pattern: "GET /crm/v8/custom_thing", cost: 7, class: complex}
    - {pattern: "POST /crm/bulk/v8/jobs", records: {key: data, per_credit: 5, max_credits: 4}}
    - {pattern: "GET /other/v8/x", cost: 4}
    - {pattern: "GET /crm/v10/y", cost: 6}
`
	type row struct {
		method, target, body string
		want                 int64
		class                string
	}
	check := func(t *testing.T, e *Effective, rows []row) {
		t.Helper()
		for _, tc := range rows {
			r := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
			p, err := e.Costs.Lookup(r)
			if err != nil {
				t.Fatalf("Lookup(%s %s): %v", tc.method, tc.target, err)
			}
			if p.Credits != tc.want || p.Class != tc.class {
				t.Errorf("%s %s costs %d (class %q), want %d (%q)", tc.method, tc.target, p.Credits, p.Class, tc.want, tc.class)
			}
		}
	}
	eleven := `{"data":[1,2,3,4,5,6,7,8,9,10,11]}` // 3 credits at 5 per credit
	e := mustBuild(t, mustParse(t, "c.yaml", "upstream: http://u\nplan: {edition: enterprise}\ncosts:"+routes))
	check(t, e, []row{
		{"GET", "/crm/v8/custom_thing", "", 7, "complex"},
		{"GET", "/crm/v7/custom_thing", "", 7, "complex"},
		{"GET", "/crm/v2/custom_thing", "", 7, "complex"},
		{"GET", "/crm/v9/custom_thing", "", 7, "complex"},
		{"POST", "/crm/bulk/v8/jobs", eleven, 3, ""},
		{"POST", "/crm/bulk/v5/jobs", eleven, 3, ""},
		{"GET", "/other/v8/x", "", 4, ""},
		{"GET", "/other/v7/x", "", 1, ""},   // not a Zoho path: added once
		{"GET", "/crm/v10/y", "", 6, ""},    // a version the table does not price: added once
		{"GET", "/crm/v9/y", "", 1, ""},     // the profile's GET {module}
		{"GET", "/crm/v8/Leads", "", 1, ""}, // the profile's routes stay
	})
	seen := map[string]RouteInfo{}
	for _, ri := range e.Routes {
		seen[ri.Pattern] = ri
	}
	for pattern, want := range map[string]RouteInfo{
		"GET /crm/v3/custom_thing": {Cost: "7", Class: "complex", Source: "route"},
		"POST /crm/bulk/v2/jobs":   {Cost: `1..4 (1 per 5 records in "data")`, Source: "route"},
		"GET /other/v8/x":          {Cost: "4", Source: "route"},
	} {
		want.Pattern = pattern
		if got := seen[pattern]; got != want {
			t.Errorf("route info %+v, want %+v", got, want)
		}
	}
	if _, ok := seen["GET /other/v7/x"]; ok {
		t.Errorf("GET /other/v8/x spread to v7")
	}

	// One version named: its routes alone, the file's added once.
	e = mustBuild(t, mustParse(t, "c.yaml", "upstream: http://u\nplan: {edition: enterprise}\ncosts:\n  version: v8"+routes))
	check(t, e, []row{
		{"GET", "/crm/v8/custom_thing", "", 7, "complex"},
		{"GET", "/crm/v7/custom_thing", "", 1, ""},
	})

	// The same route listed in two versions with one figure (as files had
	// to before routes spread) is that figure in every version.
	e = mustBuild(t, mustParse(t, "c.yaml", `upstream: http://u
costs:
  routes:
    - {pattern: "GET /crm/v8/custom_thing", cost: 7}
    - {pattern: "GET /crm/v7/custom_thing", cost: 7}
`))
	check(t, e, []row{
		{"GET", "/crm/v8/custom_thing", "", 7, ""},
		{"GET", "/crm/v7/custom_thing", "", 7, ""},
		{"GET", "/crm/v2/custom_thing", "", 7, ""},
	})

	// With two figures, which the other versions take is not for the
	// gateway to guess: refused, at the second.
	for _, second := range []string{
		`{pattern: "GET /crm/v7/custom_thing", cost: 8}`,
		`{pattern: "GET /crm/v7/custom_thing", cost: 7, class: complex}`,
		`{pattern: "GET /crm/v7/custom_thing", records: {max_credits: 7}}`,
	} {
		_, err := Build(mustParse(t, "c.yaml", `upstream: http://u
plan: {edition: enterprise}
costs:
  routes:
    - {pattern: "GET /crm/v8/custom_thing", cost: 7}
    - `+second+`
`))
		if err == nil || !strings.Contains(err.Error(), "costs.routes[1].pattern") || !strings.Contains(err.Error(), "GET /crm/v8/custom_thing") {
			t.Errorf("routes of one path in two versions at two figures (%s): %v", second, err)
		}
	}
}

// Spread to every version, two routes of the file that did not conflict
// in their own versions may conflict in one: the table's error names the
// pattern a route was spread to, which the file does not have, and says
// which route of the file it is.
func TestCostsSpreadRouteConflictNamesItsRoute(t *testing.T) {
	_, err := Build(mustParse(t, "c.yaml", `upstream: http://u
costs:
  routes:
    - {pattern: "GET /crm/v8/{x}/foo/z", cost: 3}
    - {pattern: "GET /crm/v7/bar/{y}/z", cost: 4}
`))
	if err == nil || !strings.Contains(err.Error(), `"GET /crm/v7/{x}/foo/z" is "GET /crm/v8/{x}/foo/z" spread to its version`) {
		t.Fatalf("Build: %v", err)
	}
}
