package zoho

import (
	"net/http"

	"github.com/creditgate/creditgate/cost"
)

// Routes returns Zoho CRM's credit-cost table for an API version such as "v8",
// as ServeMux patterns. Calls it does not list cost 1 (CostTable's default).
// The slice is fresh; edit it, or use cost.Override, to change a figure.
func Routes(version string) []cost.Route {
	v := "/crm/" + version
	bulk := "/crm/bulk/" + version
	// 1 credit per 10 records of the "data" array, max 10.
	records := cost.RecordsCost("data", 10, 10, MaxBody)
	// Get Records with a custom view (cvid) or a sort (sort_by) are complex
	// APIs (secondary v8 quotes): the others of the route are not. Upserts
	// of more than 10 records are too, by the same quotes, but that is told
	// by the body, read after admission takes the class's slot: they are
	// in no class (see cost.Pricer's InClass).
	getRecords := cost.QueryParamCost("cvid", 3, 1)
	getRecords.InClass = func(r *http.Request, _ int64) bool {
		return cost.HasQueryParam(r, "cvid") || cost.HasQueryParam(r, "sort_by")
	}
	r := func(pattern string, credits int64, class string) cost.Route {
		return cost.Route{Pattern: pattern, Cost: credits, Class: class}
	}
	fn := func(pattern string, p cost.Pricer, class string) cost.Route {
		return cost.Route{Pattern: pattern, Pricer: p, Class: class}
	}
	return []cost.Route{
		// Get records: 1; with a custom view (cvid): 3 (secondary sources);
		// complex with cvid or sort_by.
		fn("GET "+v+"/{module}", getRecords, ClassComplex),
		r("GET "+v+"/{module}/{id}", 1, ""),
		// Insert/update/upsert: 1 credit per 10 records, max 10 (secondary
		// sources); in no class (see getRecords above).
		fn("POST "+v+"/{module}", records, ""),
		fn("PUT "+v+"/{module}", records, ""),
		fn("PUT "+v+"/{module}/{id}", records, ""),
		fn("POST "+v+"/{module}/upsert", records, ""),
		// Delete: unconfirmed; 1 assumed.
		r("DELETE "+v+"/{module}", 1, ""),
		r("DELETE "+v+"/{module}/{id}", 1, ""),
		// Deleted-record ids and related-record count: 2 (secondary sources).
		r("GET "+v+"/{module}/deleted", 2, ""),
		r("POST "+v+"/{module}/{id}/actions/get_related_records_count", 2, ""),
		// Search: unconfirmed (secondary sources say 1 or 3); 1 assumed.
		r("GET "+v+"/{module}/search", 1, ""),
		// COQL: 1/2/3 for LIMIT <= 200/1,000/2,000 (secondary sources); Zoho's
		// default LIMIT is 200.
		fn("POST "+v+"/coql", QueryLimitCost("select_query", 200, MaxBody,
			Tier{UpTo: 200, Cost: 1}, Tier{UpTo: 1000, Cost: 2},
			Tier{UpTo: 2000, Cost: 3}), ClassComplex),
		// Convert lead: 5 (Zoho's own text).
		r("POST "+v+"/Leads/{id}/actions/convert", 5, ClassComplex),
		// Bulk read job 50, bulk write initialize 500 (secondary sources).
		r("POST "+bulk+"/read", 50, ClassComplex),
		r("POST "+bulk+"/write", 500, ClassComplex),
		// Send mail: 20 (__apis sample).
		r("POST "+v+"/{module}/{id}/actions/send_mail", 20, ClassComplex),
		// Merge records: 50 (__apis sample). Mail-merge download: 5, 1 if it
		// fails (Zoho's own text), which the handler settles with ReportCost.
		r("POST "+v+"/{module}/{id}/actions/merge", 50, ""),
		r("POST "+v+"/{module}/{id}/actions/download_mail_merge", 5, ""),
		// Attachments and photo: 1 (__apis sample).
		r(v+"/{module}/{id}/Attachments", 1, ""),
		r(v+"/{module}/{id}/Attachments/{aid}", 1, ""),
		r(v+"/{module}/{id}/photo", 1, ""),
		// Composite: 1 (Zoho's own text); with rollback_on_fail 2 when every
		// sub-request succeeds, 1 after a rollback: priced 2 from the body,
		// which a handler that knows the outcome may settle to 1. It takes
		// CompositeUnits of the application's concurrency cap.
		{Pattern: "POST " + v + "/__composite_requests", Pricer: compositeCost(MaxBody), Class: ClassComplex, Units: CompositeUnits},
		// Users, roles, profiles, modules, metadata: 1 (secondary sources). Single
		// users and modules fall to "GET {module}/{id}" or the default, also 1: a
		// "users/{id}" pattern would conflict with "{module}/search" in ServeMux.
		r("GET "+v+"/users", 1, ""),
		r("GET "+v+"/settings/roles", 1, ""),
		r("GET "+v+"/settings/profiles", 1, ""),
		r("GET "+v+"/settings/modules", 1, ""),
		r("GET "+v+"/settings/fields", 1, ""),
		r("GET "+v+"/settings/layouts", 1, ""),
		r("GET "+v+"/settings/related_lists", 1, ""),
		r("GET "+v+"/org", 1, ""), // org settings: metadata, named so that they can be cached
		// Create a custom module: 500 (unconfirmed: one secondary source only).
		r("POST "+v+"/settings/modules", 500, ""),
		// The list of available APIs with their credit ranges: 1 (Zoho's own text).
		r("GET "+v+"/__apis", 1, ""),
	}
}

// versions are the API versions CostTable prices. A ServeMux pattern has
// no wildcard for a version only ({v} would match any segment, "bulk" or a
// misspelt one too), so each version's routes are listed. The newest
// come first: a lookup compares a path's version with them in this order.
// Zoho also has a v2.1, between v2 and v3.
var versions = [...]string{"v8", "v9", "v7", "v6", "v5", "v4", "v3", "v2.1", "v2"}

// CostTable returns the table of every API version from v2 to v9, v2.1
// too (Routes of each: Zoho's credit costs do not depend on the version)
// with a default cost of 1. A path under another segment, /crm/v10/ or /crm/foo/, matches
// no route and costs 1.
func CostTable() (*cost.Table, error) { return cost.NewTable(1, AllRoutes()...) }

// AllRoutes is Routes of every version CostTable prices, v2 to v9 and
// v2.1, for a table of one's own (a gateway's, with overrides and routes
// added).
func AllRoutes() []cost.Route {
	var routes []cost.Route
	for _, v := range versions {
		routes = append(routes, Routes(v)...)
	}
	return routes
}
