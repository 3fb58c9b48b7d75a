package config

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// Zoho's costs do not depend on the API version: the default prices every
// version the profile knows (a bulk write initialisation is 500 in v7 as in
// v8), where one named version prices the others' paths at the default.
func TestCostsVersion(t *testing.T) {
	price := func(t *testing.T, text, method, path string) int64 {
		t.Helper()
		e := mustBuild(t, mustParse(t, "c.yaml", text))
		p, err := e.Costs.Match(httptest.NewRequest(method, path, nil))
		if err != nil {
			t.Fatalf("Match(%s %s): %v", method, path, err)
		}
		return p.Credits
	}
	for _, tc := range []struct {
		name, text, path string
		want             int64
	}{
		{"default v7", "upstream: http://u\n", "/crm/bulk/v7/write", 500},
		{"default v8", "upstream: http://u\n", "/crm/bulk/v8/write", 500},
		{"all v2", "upstream: http://u\ncosts: {version: all}\n", "/crm/bulk/v2/write", 500},
		{"v8 alone, v7", "upstream: http://u\ncosts: {version: v8}\n", "/crm/bulk/v7/write", 1},
		{"v8 alone, v8", "upstream: http://u\ncosts: {version: v8}\n", "/crm/bulk/v8/write", 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := price(t, tc.text, "POST", tc.path); got != tc.want {
				t.Fatalf("POST %s costs %d, want %d", tc.path, got, tc.want)
			}
		})
	}
	_, err := Build(mustParse(t, "c.yaml", "costs: {version: latest}\n"))
	if err == nil || !strings.Contains(err.Error(), "want all or an API version") {
		t.Fatalf("Build with version latest: %v", err)
	}
}
