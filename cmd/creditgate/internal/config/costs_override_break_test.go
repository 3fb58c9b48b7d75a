package config

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// Under version all (the default), an override of one version's profile
// route is Zoho's figure for that route, which does not depend on the
// version: it replaced that version's pattern alone, so that the example
// file's override (GET /crm/v8/{module}/search at 3) left the same search
// at 1 under /crm/v7/ and every other version, and a client paid 1 for it
// by naming another version; a class an override added was escaped alike.
func TestCostsOverrideUnderVersionAll(t *testing.T) {
	e := mustBuild(t, mustParse(t, "c.yaml", `upstream: http://u
plan: {credits: 1000, concurrency: 5, sub_concurrency: {slow: 1}}
costs:
  overrides:
    - {pattern: "GET /crm/v8/{module}/search", cost: 3, class: slow}
    - {pattern: "POST /crm/bulk/v7/write", cost: 400, class: complex}
`))
	for _, tc := range []struct {
		method, path string
		want         int64
		class        string
	}{
		{"GET", "/crm/v8/Leads/search", 3, "slow"},
		{"GET", "/crm/v7/Leads/search", 3, "slow"},
		{"GET", "/crm/v2/Leads/search", 3, "slow"},
		{"POST", "/crm/bulk/v7/write", 400, "complex"},
		{"POST", "/crm/bulk/v9/write", 400, "complex"},
		{"GET", "/crm/v7/Leads", 1, ""},
	} {
		p, err := e.Costs.Match(httptest.NewRequest(tc.method, tc.path, nil))
		if err != nil {
			t.Fatalf("Match(%s %s): %v", tc.method, tc.path, err)
		}
		if p.Credits != tc.want || p.Class != tc.class {
			t.Errorf("%s %s costs %d (class %q), want %d (%q)", tc.method, tc.path, p.Credits, p.Class, tc.want, tc.class)
		}
	}
	for _, ri := range e.Routes {
		if ri.Pattern == "GET /crm/v2/{module}/search" && ri.Source != "override" {
			t.Errorf("%s: source %q, want override", ri.Pattern, ri.Source)
		}
	}
	// Two overrides of one route in different versions: which one the
	// others take is not for the gateway to guess.
	_, err := Build(mustParse(t, "c.yaml", `upstream: http://u
costs:
  overrides:
    - {pattern: "POST /crm/bulk/v8/write", cost: 400, class: complex}
    - {pattern: "POST /crm/bulk/v2/write", cost: 600, class: complex}
`))
	if err == nil || !strings.Contains(err.Error(), "POST /crm/bulk/v8/write") {
		t.Fatalf("Build with two versions of one override: %v", err)
	}
}
