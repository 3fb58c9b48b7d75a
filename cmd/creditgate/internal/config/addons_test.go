package config

import "testing"

// A plan's add_ons reach store.Plan.AddOns, so that the gateway sends
// X-API-CREDITS-REMAINING from half the allowance, add-ons excluded, as
// Zoho does: with an edition (whose cap may leave fewer of them in the
// pool), and with credits given (credits are the allowance, add_ons on top).
func TestPlanAddOns(t *testing.T) {
	c := mustParse(t, "c.yaml", `
upstream: http://127.0.0.1:9000
plan:
  edition: enterprise
  licences: 10
  add_ons: 40000
tenants:
  capped:
    edition: standard
    add_ons: 60000
  custom:
    credits: 1000
    add_ons: 300
    concurrency: 5
  none:
    add_ons: 0
`)
	e := mustBuild(t, c)
	for _, tc := range []struct {
		tenant          string
		credits, addOns int64
	}{
		{"someone", 100_000, 40_000},
		{"capped", 100_000, 100_000 - 52_500}, // standard x10: 52,500 + 60,000, capped at 100,000
		{"custom", 1_300, 300},
		{"none", 60_000, 0},
	} {
		if p := e.PlanFor(tc.tenant); p.Credits != tc.credits || p.AddOns != tc.addOns {
			t.Errorf("%s: credits %d, add-ons %d; want %d, %d", tc.tenant, p.Credits, p.AddOns, tc.credits, tc.addOns)
		}
	}
}
