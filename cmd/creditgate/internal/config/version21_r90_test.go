package config

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// The Zoho profile prices API v2.1 since session 21 (CostTable, AllRoutes),
// but the gateway's reading of a Zoho path knows versions as v + digits
// only (apiVersion): under costs.version all, an override of a profile
// route and a route of the file's own under /crm/v8/ are spread to every
// version but v2.1, where a client pays the profile's figure or the
// default (and escapes the class) by naming /crm/v2.1/. And costs.version
// v2.1, a version the profile prices, is refused.
func TestCostsVersion21Spread_r90(t *testing.T) {
	e := mustBuild(t, mustParse(t, "c.yaml", `upstream: http://u
plan: {edition: enterprise, sub_concurrency: {slow: 1}}
costs:
  overrides:
    - {pattern: "POST /crm/bulk/v8/write", cost: 900}
    - {pattern: "POST /crm/v8/{module}/{id}/actions/merge", cost: 60, class: slow}
  routes:
    - {pattern: "GET /crm/v8/custom_thing", cost: 7, class: slow}
`))
	for _, tc := range []struct {
		method, target string
		want           int64
		class          string
	}{
		{"POST", "/crm/bulk/v8/write", 900, "complex"},
		{"POST", "/crm/bulk/v2/write", 900, "complex"},
		{"POST", "/crm/bulk/v2.1/write", 900, "complex"},
		{"POST", "/crm/v2/Leads/1/actions/merge", 60, "slow"},
		{"POST", "/crm/v2.1/Leads/1/actions/merge", 60, "slow"},
		{"GET", "/crm/v2/custom_thing", 7, "slow"},
		{"GET", "/crm/v2.1/custom_thing", 7, "slow"},
	} {
		r := httptest.NewRequest(tc.method, tc.target, strings.NewReader(""))
		p, err := e.Costs.Lookup(r)
		if err != nil {
			t.Fatalf("Lookup(%s %s): %v", tc.method, tc.target, err)
		}
		if p.Credits != tc.want || p.Class != tc.class {
			t.Errorf("%s %s costs %d (class %q), want %d (%q)", tc.method, tc.target, p.Credits, p.Class, tc.want, tc.class)
		}
	}
}

// costs.version names one version the profile prices: v2.1 is one.
func TestCostsVersion21Accepted_r90(t *testing.T) {
	e := mustBuild(t, mustParse(t, "c.yaml", "upstream: http://u\nplan: {edition: enterprise}\ncosts: {version: v2.1}\n"))
	p, err := e.Costs.Lookup(httptest.NewRequest("POST", "/crm/bulk/v2.1/write", nil))
	if err != nil || p.Credits != 500 {
		t.Errorf("POST /crm/bulk/v2.1/write under version v2.1: %d, %v; want 500", p.Credits, err)
	}
}
