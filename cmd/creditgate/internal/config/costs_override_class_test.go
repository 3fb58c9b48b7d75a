package config

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// An override that sets a cost but no class left its route without the
// class the profile gave it: overriding Zoho's bulk read job (POST
// /crm/bulk/v8/read, class bulk) to 80 credits made its calls uncapped by
// the plan's sub-concurrency for complex APIs, in every version it was spread to.
// An override without class keeps the profile's; one with a class sets it.
func TestCostsOverrideKeepsProfileClass(t *testing.T) {
	for _, version := range []string{"all", "v8"} {
		e := mustBuild(t, mustParse(t, "c.yaml", `upstream: http://u
plan: {edition: enterprise, sub_concurrency: {slow: 1}}
costs:
  version: `+version+`
  overrides:
    - {pattern: "POST /crm/bulk/v8/read", cost: 80}
    - {pattern: "POST /crm/v8/coql", cost: 2, class: slow}
`))
		rows := []struct {
			method, path string
			want         int64
			class        string
		}{
			{"POST", "/crm/bulk/v8/read", 80, "complex"},
			{"POST", "/crm/v8/coql", 2, "slow"},
			{"POST", "/crm/bulk/v8/write", 500, "complex"},
		}
		if version == "all" {
			rows = append(rows, []struct {
				method, path string
				want         int64
				class        string
			}{
				{"POST", "/crm/bulk/v3/read", 80, "complex"},
				{"POST", "/crm/v9/coql", 2, "slow"},
			}...)
		}
		for _, tc := range rows {
			p, err := e.Costs.Match(httptest.NewRequest(tc.method, tc.path, nil))
			if err != nil {
				t.Fatalf("version %s: Match(%s %s): %v", version, tc.method, tc.path, err)
			}
			if p.Credits != tc.want || p.Class != tc.class {
				t.Errorf("version %s: %s %s costs %d (class %q), want %d (%q)", version, tc.method, tc.path, p.Credits, p.Class, tc.want, tc.class)
			}
		}
		found := false
		for _, ri := range e.Routes {
			if ri.Pattern == "POST /crm/bulk/v8/read" {
				found = true
				if ri.Class != "complex" || ri.Source != "override" || ri.Cost != "80" {
					t.Errorf("version %s: route info %+v, want 80, class complex, from override", version, ri)
				}
			}
		}
		if !found {
			t.Errorf("version %s: no route info for POST /crm/bulk/v8/read", version)
		}
	}
}

// class: none clears the class of a route on purpose (the profile's, for an
// override, in every version it is spread to); in a new route it is no
// class. A class that is neither a name nor none is refused where it is
// written: an empty one (omit class to keep the profile's), none in other
// spellings, and a plan's cap for none (which names no class, so caps
// nothing).
func TestCostsClassNone(t *testing.T) {
	e := mustBuild(t, mustParse(t, "c.yaml", `upstream: http://u
costs:
  overrides:
    - {pattern: "POST /crm/bulk/v8/write", cost: 400, class: none}
  routes:
    - {pattern: "POST /crm/x", cost: 8, class: none}
`))
	for _, path := range []string{"/crm/bulk/v8/write", "/crm/bulk/v2/write", "/crm/x"} {
		p, err := e.Costs.Match(httptest.NewRequest("POST", path, nil))
		if err != nil || p.Class != "" {
			t.Errorf("POST %s: %+v, %v, want no class", path, p, err)
		}
	}
	for _, ri := range e.Routes {
		if ri.Pattern == "POST /crm/bulk/v8/write" && ri.Class != "" {
			t.Errorf("route info %+v, want no class", ri)
		}
	}
	for _, tc := range []struct{ name, text, where, want string }{
		{"empty", `costs:
  overrides:
    - {pattern: "POST /crm/bulk/v8/read", cost: 80, class: ""}
`, "costs.overrides[0].class", "write none for no class"},
		{"capital None", `costs:
  overrides:
    - {pattern: "POST /crm/bulk/v8/read", cost: 80, class: None}
`, "costs.overrides[0].class", "write none for no class"},
		{"spaced none", `costs:
  routes:
    - {pattern: "POST /crm/x", cost: 8, class: " none"}
`, "costs.routes[0].class", "write none for no class"},
		{"cap for none", `plan: {edition: enterprise, sub_concurrency: {none: 2}}
`, "plan.sub_concurrency.none", "caps nothing"},
		{"tenant cap for none", `tenants:
  acme: {sub_concurrency: {none: 2}}
`, "tenants.acme.sub_concurrency.none", "caps nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("c.yaml", []byte("upstream: http://u\n"+tc.text))
			if err == nil {
				_, err = Build(c)
			}
			if err == nil || !strings.Contains(err.Error(), tc.where) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse and Build: %v, want an error at %s that says %q", err, tc.where, tc.want)
			}
		})
	}
}
