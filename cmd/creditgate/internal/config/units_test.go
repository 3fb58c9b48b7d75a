package config

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

// A route's units: set by units, kept from the profile's route by an
// override that does not set them (Zoho's composite takes 5 whatever its
// cost), and carried into the table's prices.
func TestCostsUnits(t *testing.T) {
	e := mustBuild(t, mustParse(t, "c.yaml", `upstream: http://u
plan: {edition: enterprise, sub_concurrency: {slow: 1}}
costs:
  version: v8
  overrides:
    - {pattern: "POST /crm/v8/__composite_requests", cost: 3}
    - {pattern: "POST /crm/v8/coql", cost: 2, units: 4}
  routes:
    - {pattern: "POST /reports/run", cost: 1, units: 2, class: slow}
    - {pattern: "GET /reports", cost: 1}
`))
	for _, tc := range []struct {
		method, path string
		units        int64
	}{
		{"POST", "/crm/v8/__composite_requests", 5},
		{"POST", "/crm/v8/coql", 4},
		{"POST", "/reports/run", 2},
		{"GET", "/reports", 0},
		{"GET", "/crm/v8/Leads", 0},
	} {
		p, err := e.Costs.Match(httptest.NewRequest(tc.method, tc.path, strings.NewReader("{}")))
		if err != nil || p.Units != tc.units {
			t.Errorf("%s %s: units %d, %v; want %d", tc.method, tc.path, p.Units, err, tc.units)
		}
	}
	if len(e.Warnings) != 0 {
		t.Errorf("warnings: %q", e.Warnings)
	}
}

// Bad units are refused at their line: not a positive whole number, past
// any cap, or more than a plan's cap (no call of the route could ever be
// admitted). A profile's route over a plan's cap is a warning.
func TestCostsUnitsRefusedAtTheirLine(t *testing.T) {
	for _, tc := range []struct {
		name, costs string
		line        int
		msg         string
	}{
		{"zero", `  routes:
    - {pattern: "GET /a", cost: 1, units: 0}`, 6, "from 1 to"},
		{"negative", `  routes:
    - {pattern: "GET /a", cost: 1, units: -2}`, 6, "from 1 to"},
		{"not a number", `  routes:
    - pattern: "GET /a"
      cost: 1
      units: five`, 8, ""},
		{"past any cap", `  routes:
    - {pattern: "GET /a", cost: 1, units: 1099511627776}`, 6, "from 1 to"},
		{"over the plan's cap", `  overrides:
    - pattern: "POST /crm/v8/__composite_requests"
      units: 11
      cost: 1`, 7, "more than plan.concurrency 10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := "upstream: http://u\nplan: {edition: standard}\ncosts:\n  version: v8\n" + tc.costs + "\n"
			c, err := Parse("c.yaml", []byte(text))
			if err == nil {
				_, err = Build(c)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v, want a positioned one", err)
			}
			if e.Pos.Line != tc.line || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("error %q at line %d, want line %d of\n%s", err, e.Pos.Line, tc.line, text)
			}
		})
	}
	e := mustBuild(t, mustParse(t, "c.yaml", "upstream: http://u\nplan: {credits: 100, concurrency: 3}\ncosts: {version: all}\n"))
	if w := strings.Join(e.Warnings, "\n"); !strings.Contains(w, "plan.concurrency 3") || !strings.Contains(w, "__composite_requests (5)") {
		t.Errorf("warnings %q: want one for the composite routes' 5 units over a cap of 3", e.Warnings)
	}
}
