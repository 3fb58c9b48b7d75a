package zoho_test

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creditgate/creditgate/profile/zoho"
)

// The saving rules name routes of the cost table, with Zoho's figures.
func TestSavingRules(t *testing.T) {
	var patterns []string
	for _, r := range zoho.Routes("v8") {
		patterns = append(patterns, r.Pattern)
	}
	var named []string
	for _, r := range zoho.CacheRules("v8", time.Hour) {
		named = append(named, r.Route)
		if r.TTL != time.Hour || !strings.HasPrefix(r.Route, "GET ") {
			t.Errorf("cache rule %+v", r)
		}
	}
	for _, r := range zoho.CoalesceRules("v8") {
		named = append(named, r.Route)
	}
	batch := zoho.BatchRules("v8", 0)
	for _, r := range batch {
		named = append(named, r.Route)
		if r.MaxRecords != zoho.MaxRecords || r.Member != "data" || !slices.Contains(r.KeyFields, "id") {
			t.Errorf("batch rule %+v", r)
		}
	}
	for _, p := range named {
		if !slices.Contains(patterns, p) {
			t.Errorf("%q is not a route of the v8 table", p)
		}
	}
	if len(batch) != 3 || batch[0].Success != 201 || batch[1].Success != 200 || batch[2].Success != 200 {
		t.Errorf("batch rules: %+v", batch)
	}
	for _, f := range []string{"Email", "Account_Name", "Deal_Name", "Subject", "Name"} {
		if !slices.Contains(batch[2].KeyFields, f) {
			t.Errorf("upserts are not told apart by %s", f)
		}
	}
	if len(zoho.CacheRules("v8", time.Hour)) != len(zoho.MetadataRoutes("v8")) {
		t.Error("a metadata route is not cached")
	}
}

// Organization settings are a route of their own (metadata, cost 1).
func TestOrgRoute(t *testing.T) {
	ct, err := zoho.CostTable()
	if err != nil {
		t.Fatal(err)
	}
	p, err := ct.Lookup(httptest.NewRequest("GET", "/crm/v8/org", nil))
	if err != nil || p.Credits != 1 || p.Pattern != "GET /crm/v8/org" || p.Module != "" {
		t.Errorf("GET /crm/v8/org: %+v %v", p, err)
	}
}
