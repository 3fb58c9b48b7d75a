package gateway

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// seriesCount gathers g's registry and counts its series by family.
func seriesCount(t *testing.T, g *Gateway) (total int, by map[string]int) {
	t.Helper()
	fams, err := g.m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	by = map[string]int{}
	for _, f := range fams {
		by[f.GetName()] = len(f.Metric)
		total += len(f.Metric)
	}
	return total, by
}

// A flood of distinct tenants, applications, users and paths (each
// client-chosen) adds no series to /metrics once past top_tenants and
// top_apps: the series after 400 of each are those after 10.
func TestMetricsBoundedUnderFlood(t *testing.T) {
	up := upstream(t)
	g := newGateway(t, "upstream: "+up.URL+"\n"+`
identity: {tenant_header: X-Org}
metrics: {top_tenants: 3, top_apps: 3}
`)
	send := func(from, to int) {
		for i := from; i < to; i++ {
			r := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/crm/v8/Module%d/%d", i, i), nil)
			r.Header.Set("X-Org", fmt.Sprintf("tenant-%d", i))
			r.Header.Set("X-Client-Id", fmt.Sprintf("app-%d", i))
			r.Header.Set("X-User-Id", fmt.Sprintf("user-%d", i))
			w := httptest.NewRecorder()
			g.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
		}
	}
	send(0, 10)
	before, byBefore := seriesCount(t, g)
	send(10, 400)
	after, byAfter := seriesCount(t, g)
	if after != before {
		for name, n := range byAfter {
			if n != byBefore[name] {
				t.Errorf("%s: %d series after 10 distinct callers, %d after 400", name, byBefore[name], n)
			}
		}
		t.Fatalf("series: %d, then %d", before, after)
	}
	if n := byAfter["creditgate_tenant_credits_used"]; n != 4 {
		t.Errorf("tenant series %d, want 4 (top 3 and other)", n)
	}
	if n := byAfter["creditgate_in_flight"]; n > 4 {
		t.Errorf("in-flight series %d, want at most 4 (top 3 apps and other)", n)
	}
}
