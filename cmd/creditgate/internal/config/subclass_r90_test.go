package config

import (
	"strings"
	"testing"
)

// Session 21 made Zoho's complex APIs one class, complex, where they were
// bulk, query, convert, mail and composite. A configuration written for
// those (README and DESIGN named them) that tightens one, sub_concurrency
// {bulk: 2}, still builds without a word: the cap names a class no route
// has, caps nothing, and bulk jobs run under complex's 10. A misspelt
// class (compelx: 5) does the same. The parser already refuses a cap for
// none because "a cap for it caps nothing"; a cap for a class no route of
// the table names caps nothing either.
func TestSubConcurrencyCapForNoRouteClassRefused_r90(t *testing.T) {
	for _, tc := range []struct{ text, where string }{
		{"plan:\n  edition: enterprise\n  sub_concurrency: {bulk: 2}\n", "plan.sub_concurrency.bulk"},
		{"plan:\n  edition: enterprise\n  sub_concurrency: {compelx: 5}\n", "plan.sub_concurrency.compelx"},
		{"identity: {tenant_header: X-Org}\nplan: {edition: enterprise}\ntenants:\n  acme:\n    sub_concurrency: {query: 3}\n", "sub_concurrency.query"},
	} {
		c := mustParse(t, "c.yaml", "upstream: http://127.0.0.1:9000\n"+tc.text)
		_, err := Build(c)
		if err == nil || !strings.Contains(err.Error(), tc.where) {
			t.Errorf("%q: Build error %v, want one at %s (a cap for a class no route has)", tc.text, err, tc.where)
		}
	}
	// The edition's own cap (complex) with no route of that class, under
	// costs.profile none, is not the file's doing: it builds.
	mustBuild(t, mustParse(t, "c.yaml", "upstream: http://127.0.0.1:9000\nplan: {edition: enterprise}\ncosts: {profile: none}\n"))
	// A cap for a class a route of the file names builds.
	mustBuild(t, mustParse(t, "c.yaml", "upstream: http://127.0.0.1:9000\nplan: {edition: enterprise, sub_concurrency: {reports: 2}}\n"+
		"costs:\n  routes:\n    - {pattern: \"GET /reports\", cost: 3, class: reports}\n"))
}
