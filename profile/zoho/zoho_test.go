package zoho_test

import (
	"errors"
	"math"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/profile/zoho"
	"github.com/creditgate/creditgate/store"
)

func TestEditionCredits(t *testing.T) {
	for _, tc := range []struct {
		name     string
		licences int64
		credits  int64
		conc     int64
	}{
		{"free", 0, 5000, 5},
		{"free", 100, 5000, 5},
		{"standard", 10, 52500, 10}, // the fact sheet's own example
		{"standard", 0, 50000, 10},
		{"starter", 1000, 100000, 10}, // capped
		{"professional", 10, 55000, 15},
		{"professional", 100000, 3000000, 15},
		{"enterprise", 100, 150000, 20},
		{"zoho one", 10000, 5000000, 20},
		{"ultimate", 10, 70000, 25},
		{"CRM Plus", 100000, 50000 + 2000*100000, 25}, // no cap
	} {
		p, err := zoho.Edition(tc.name, tc.licences)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := p.Credits; got != tc.credits {
			t.Errorf("%s x%d: credits %d, want %d", tc.name, tc.licences, got, tc.credits)
		}
		if p.Concurrency != tc.conc {
			t.Errorf("%s: concurrency %d, want %d", tc.name, p.Concurrency, tc.conc)
		}
		// One class for every complex API: they share Zoho's 10.
		if len(p.SubConcurrency) != 1 || p.SubConcurrency[zoho.ClassComplex] != 10 {
			t.Errorf("%s: sub-concurrency %v, want %s: 10 alone", tc.name, p.SubConcurrency, zoho.ClassComplex)
		}
	}
	if _, err := zoho.Edition("gold", 1); !errors.Is(err, zoho.ErrEdition) {
		t.Errorf("unknown edition: %v", err)
	}
	if _, err := zoho.Edition("free", -1); err == nil {
		t.Error("negative licences accepted")
	}
	// Edition hands out fresh maps: changing one must not change the next.
	p, _ := zoho.Edition("free", 0)
	p.SubConcurrency[zoho.ClassComplex] = 1
	if q, _ := zoho.Edition("free", 0); q.SubConcurrency[zoho.ClassComplex] != 10 {
		t.Error("Edition shares its map between plans")
	}
}

// The formula: base, licences and add-ons, then the cap ("usable credits =
// the lower of formula and cap", credit-limits.md section 1, add-ons inside
// the formula); overflow saturates and fails validation instead of wrapping.
func TestEditionFormula(t *testing.T) {
	for _, tc := range []struct {
		e                zoho.EditionLimits
		licences, addOns int64
		want             int64
	}{
		{zoho.Standard, 10, 0, 52500},
		{zoho.Standard, 1000, 0, 100000},
		{zoho.Standard, 1000, 7, 100000}, // the cap includes add-ons (it gave 100,007)
		{zoho.Standard, 10, 7, 52507},
		{zoho.Standard, 190, 1000, 98500},
		{zoho.Standard, 199, 1000, 100000}, // 100,750 capped
		{zoho.Free, 0, 500, 5000},
		{zoho.Ultimate, 10, 500, 70500}, // no cap
		{zoho.Standard, math.MaxInt64 / 2, 1, 100000},
		{zoho.Ultimate, math.MaxInt64 / 2, 0, math.MaxInt64},
		{zoho.Ultimate, 1, math.MaxInt64, math.MaxInt64},
	} {
		if got := tc.e.Credits(tc.licences, tc.addOns); got != tc.want {
			t.Errorf("%s x%d +%d: %d, want %d", tc.e.Name, tc.licences, tc.addOns, got, tc.want)
		}
	}
	if _, err := zoho.Ultimate.Plan(math.MaxInt64/2, 0); err == nil {
		t.Error("an overflowing pool validated")
	}
	if _, err := zoho.Standard.Plan(1, -1); err == nil {
		t.Error("negative add-ons accepted")
	}
	p, err := zoho.Enterprise.Plan(25, 1000)
	if err != nil || p.Credits != 76000 || p.WindowLength() != 24*time.Hour {
		t.Fatalf("enterprise x25 +1000: %+v %v", p, err)
	}
}

// A plan's AddOns are the add-on credits its pool holds beyond the
// allowance, which X-API-CREDITS-REMAINING leaves out: all of them below
// the cap, only what fits under it above.
func TestEditionPlanAddOns(t *testing.T) {
	for _, tc := range []struct {
		e                        zoho.EditionLimits
		licences, addOns         int64
		credits, allowance, kept int64
	}{
		{zoho.Enterprise, 10, 40000, 100000, 60000, 40000},
		{zoho.Enterprise, 10, 0, 60000, 60000, 0},
		{zoho.Standard, 10, 60000, 100000, 52500, 47500}, // capped: 112,500
		{zoho.Standard, 1000, 7, 100000, 100000, 0},      // the allowance alone reaches the cap
		{zoho.Ultimate, 10, 500, 70500, 70000, 500},
	} {
		p, err := tc.e.Plan(tc.licences, tc.addOns)
		if err != nil || p.Credits != tc.credits || p.AddOns != tc.kept || p.Allowance() != tc.allowance {
			t.Errorf("%s x%d +%d: credits %d, add-ons %d, allowance %d (%v); want %d, %d, %d", tc.e.Name, tc.licences,
				tc.addOns, p.Credits, p.AddOns, p.Allowance(), err, tc.credits, tc.kept, tc.allowance)
		}
	}
}

func TestCostTable(t *testing.T) {
	ct, err := zoho.CostTable()
	if err != nil {
		t.Fatal(err)
	}
	if err := ct.CheckClasses(freePlan(t).SubConcurrency); err != nil {
		t.Fatal(err)
	}
	coql := func(q string) string { return `{"select_query":"` + q + `"}` }
	for _, tc := range []struct {
		method, path, body string
		credits            int64
		class, module      string
	}{
		{"GET", "/crm/v8/Leads", "", 1, "", "Leads"},
		{"GET", "/crm/v8/Leads/123", "", 1, "", "Leads"},
		{"GET", "/crm/v8/Leads?cvid=55&page=2", "", 3, "complex", "Leads"}, // a custom view: complex
		{"GET", "/crm/v8/Leads?page=2&cvid=55", "", 3, "complex", "Leads"},
		{"POST", "/crm/v8/Leads", records(1), 1, "", "Leads"},
		{"POST", "/crm/v8/Leads", records(10), 1, "", "Leads"},
		{"POST", "/crm/v8/Leads", records(11), 2, "", "Leads"},
		{"POST", "/crm/v8/Leads", records(100), 10, "", "Leads"},
		{"POST", "/crm/v8/Leads", records(250), 10, "", "Leads"}, // max 10
		{"PUT", "/crm/v8/Contacts", records(25), 3, "", "Contacts"},
		{"PUT", "/crm/v8/Contacts/9", records(1), 1, "", "Contacts"},
		{"POST", "/crm/v8/Deals/upsert", records(100), 10, "", "Deals"}, // in no class: see TestComplexByQueryAndRecords
		{"DELETE", "/crm/v8/Deals?ids=1,2", "", 1, "", "Deals"},
		{"DELETE", "/crm/v8/Deals/1", "", 1, "", "Deals"},
		{"GET", "/crm/v8/Deals/deleted?type=all", "", 2, "", "Deals"},
		{"POST", "/crm/v8/Deals/7/actions/get_related_records_count", "{}", 2, "", "Deals"},
		{"GET", "/crm/v8/Deals/search?word=x", "", 1, "", "Deals"},
		{"POST", "/crm/v8/coql", coql("select id from Leads limit 200"), 1, "complex", ""},
		{"POST", "/crm/v8/coql", coql("select id from Leads"), 1, "complex", ""},
		{"POST", "/crm/v8/coql", coql("select id from Leads LIMIT 201"), 2, "complex", ""},
		{"POST", "/crm/v8/coql", coql("select id from Leads limit 1000"), 2, "complex", ""},
		{"POST", "/crm/v8/coql", coql("select id from Leads limit 400, 1001"), 3, "complex", ""},
		{"POST", "/crm/v8/coql", coql("select id from Leads limit 2000 offset 5"), 3, "complex", ""},
		{"POST", "/crm/v8/Leads/42/actions/convert", "{}", 5, "complex", ""},
		{"POST", "/crm/bulk/v8/read", "{}", 50, "complex", ""},
		{"POST", "/crm/bulk/v8/write", "{}", 500, "complex", ""},
		{"POST", "/crm/v8/Leads/4/actions/send_mail", "{}", 20, "complex", "Leads"},
		{"GET", "/crm/v8/Leads/4/Attachments", "", 1, "", "Leads"},
		{"POST", "/crm/v8/Leads/4/Attachments", "x", 1, "", "Leads"},
		{"DELETE", "/crm/v8/Leads/4/Attachments/5", "", 1, "", "Leads"},
		{"GET", "/crm/v8/Leads/4/photo", "", 1, "", "Leads"},
		{"POST", "/crm/v8/__composite_requests", "{}", 1, "complex", ""},
		{"GET", "/crm/v8/users?type=AllUsers", "", 1, "", ""},
		{"GET", "/crm/v8/settings/roles", "", 1, "", ""},
		{"GET", "/crm/v8/settings/profiles", "", 1, "", ""},
		{"GET", "/crm/v8/settings/modules", "", 1, "", ""},
		{"POST", "/crm/v8/settings/modules", "{}", 500, "", ""},
		{"GET", "/crm/v8/settings/fields?module=Leads", "", 1, "", ""},
		{"GET", "/crm/v8/__apis", "", 1, "", ""},
		{"GET", "/crm/v8/unknown/thing/here/deep", "", 1, "", ""}, // default
	} {
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		p, err := ct.Lookup(req)
		if err != nil {
			t.Errorf("%s %s: %v", tc.method, tc.path, err)
			continue
		}
		if p.Credits != tc.credits || p.Class != tc.class || p.Module != tc.module {
			t.Errorf("%s %s %.40s: got %d %q %q (%s), want %d %q %q", tc.method, tc.path, tc.body,
				p.Credits, p.Class, p.Module, p.Pattern, tc.credits, tc.class, tc.module)
		}
	}
}

func TestOverrideUnconfirmed(t *testing.T) {
	routes := cost.Override(zoho.Routes("v8"), cost.Route{Pattern: "GET /crm/v8/{module}/search", Cost: 3})
	ct, err := cost.NewTable(1, routes...)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := ct.Lookup(httptest.NewRequest("GET", "/crm/v8/Leads/search?word=a", nil))
	if p.Credits != 3 {
		t.Fatalf("override: %d", p.Credits)
	}
	if len(routes) != len(zoho.Routes("v8")) {
		t.Fatal("override appended instead of replacing")
	}
}

func freePlan(t *testing.T) store.Plan {
	p, err := zoho.Edition("free", 0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCostTableUncleanPaths(t *testing.T) {
	// Issue #13: with the middleware in front of a backend that cleans
	// paths, these cost 1 and escaped the bulk class.
	ct, err := zoho.CostTable()
	if err != nil {
		t.Fatal(err)
	}
	records := `{"data":[` + strings.TrimSuffix(strings.Repeat(`{"a":1},`, 100), ",") + `]}`
	for _, tc := range []struct {
		method, path, body string
		credits            int64
		class              string
	}{
		{"POST", "/crm/v8//Leads/upsert", records, 10, ""},
		{"POST", "/crm//bulk/v8/read", "{}", 50, "complex"},
		{"POST", "/crm/bulk/v8/../v8/write", "{}", 500, "complex"},
		{"POST", "/crm/bulk%2Fv8/read", "{}", 50, "complex"},
		{"POST", "/crm/v8/Leads/4/actions/./send_mail", "{}", 20, "complex"},
		{"POST", "/crm/V8/coql", `{"select_query":"select id from Leads limit 2000"}`, 3, "complex"},
		{"POST", "/crm/bulk/v8/read/", "{}", 50, "complex"},
	} {
		p, err := ct.Lookup(httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body)))
		if err != nil || p.Credits != tc.credits || p.Class != tc.class || !p.Unclean {
			t.Errorf("%s %s: %+v %v, want %d %q, unclean", tc.method, tc.path, p, err, tc.credits, tc.class)
		}
	}
}

// Zoho's credit costs do not depend on the API version: the table prices
// every route alike for v2 to v9 (it listed v8's only, so that "POST
// /crm/bulk/v7/write" cost the default 1 credit, not 500). A segment that
// is no version it lists still reaches no route.
func TestCostTableVersions(t *testing.T) {
	ct, err := zoho.CostTable()
	if err != nil {
		t.Fatal(err)
	}
	records := `{"data":[` + strings.TrimSuffix(strings.Repeat(`{"a":1},`, 25), ",") + `]}`
	calls := []struct {
		method, path, body string // path after /crm/, {v} the version
		credits            int64
		class, module      string
	}{
		{"POST", "bulk/{v}/write", "{}", 500, "complex", ""},
		{"POST", "bulk/{v}/read", "{}", 50, "complex", ""},
		{"GET", "{v}/Leads?cvid=55", "", 3, "complex", "Leads"},
		{"POST", "{v}/Leads/upsert", records, 3, "", "Leads"},
		{"GET", "{v}/Deals/deleted", "", 2, "", "Deals"},
		{"POST", "{v}/coql", `{"select_query":"select id from Leads limit 2000"}`, 3, "complex", ""},
		{"POST", "{v}/Leads/42/actions/convert", "{}", 5, "complex", ""},
		{"POST", "{v}/Leads/4/actions/send_mail", "{}", 20, "complex", "Leads"},
		{"POST", "{v}/__composite_requests", "{}", 1, "complex", ""},
		{"POST", "{v}/settings/modules", "{}", 500, "", ""},
		{"GET", "{v}/users", "", 1, "", ""},
	}
	for n := 2; n <= 9; n++ {
		v := "v" + strconv.Itoa(n)
		for _, c := range calls {
			path := "/crm/" + strings.Replace(c.path, "{v}", v, 1)
			p, err := ct.Lookup(httptest.NewRequest(c.method, path, strings.NewReader(c.body)))
			if err != nil || p.Credits != c.credits || p.Class != c.class || p.Module != c.module || p.Unclean {
				t.Errorf("%s %s: %+v %v, want %d %q %q", c.method, path, p, err, c.credits, c.class, c.module)
			}
		}
	}
	for _, seg := range []string{"foo", "bulk", "v", "v8x", "8", "v1", "v10", "v08"} {
		for _, c := range calls {
			path := "/crm/" + strings.Replace(c.path, "{v}", seg, 1)
			p, err := ct.Lookup(httptest.NewRequest(c.method, path, strings.NewReader(c.body)))
			if err != nil || p.Credits != 1 || p.Pattern != "" || p.Class != "" {
				t.Errorf("%s %s: %+v %v, want the default (1, no route)", c.method, path, p, err)
			}
		}
	}
}
