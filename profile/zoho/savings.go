package zoho

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/creditgate/creditgate/middleware/client"
)

// MaxRecords is the most records Zoho's insert, update and upsert calls
// take in their "data" array.
const MaxRecords = 100

// DuplicateCheckFields are the system-defined duplicate check fields of
// Zoho's modules (custom modules: "Name"), by which an upsert finds the
// record it updates and an insert is refused as a duplicate.
var DuplicateCheckFields = map[string]string{
	"Leads": "Email", "Contacts": "Email", "Accounts": "Account_Name", "Deals": "Deal_Name",
	"Campaigns": "Campaign_Name", "Cases": "Subject", "Solutions": "Solution_Title",
	"Products": "Product_Name", "Vendors": "Vendor_Name", "PriceBooks": "Price_Book_Name",
	"Quotes": "Subject", "SalesOrders": "Subject", "PurchaseOrders": "Subject", "Invoices": "Subject",
	"": "Name",
}

// MetadataRoutes returns the patterns of Routes(version) that read metadata,
// which changes seldom: users, roles, profiles, modules, fields, layouts,
// related lists, organization settings and the list of APIs.
func MetadataRoutes(version string) []string {
	v := "GET /crm/" + version
	return []string{v + "/users", v + "/settings/roles", v + "/settings/profiles", v + "/settings/modules",
		v + "/settings/fields", v + "/settings/layouts", v + "/settings/related_lists", v + "/org", v + "/__apis"}
}

// RecordWriteRoutes returns the patterns of Routes(version) that take up to
// MaxRecords records in a "data" array: insert, update and upsert.
func RecordWriteRoutes(version string) []string {
	v := "/crm/" + version
	return []string{"POST " + v + "/{module}", "PUT " + v + "/{module}", "POST " + v + "/{module}/upsert"}
}

// CacheRules caches every metadata route (MetadataRoutes) for ttl.
func CacheRules(version string, ttl time.Duration) []client.CacheRule {
	var rules []client.CacheRule
	for _, p := range MetadataRoutes(version) {
		rules = append(rules, client.CacheRule{Route: p, TTL: ttl})
	}
	return rules
}

// CoalesceRules coalesces every GET route of Routes(version).
func CoalesceRules(version string) []client.CoalesceRule {
	var rules []client.CoalesceRule
	for _, r := range Routes(version) {
		if strings.HasPrefix(r.Pattern, "GET ") {
			rules = append(rules, client.CoalesceRule{Route: r.Pattern})
		}
	}
	return rules
}

// BatchRules batches the single-record writes of every record write route
// (RecordWriteRoutes) with window (0: client.DefaultBatchWindow), up to
// MaxRecords a call. Records are told apart by "id", and inserts and
// upserts also by every module's duplicate check field, so that two writes
// that may reach one record are never in one batch. A succeeded record of
// a 207 answer gets the status of a one-record call: 201 for an insert,
// 200 for an update or an upsert.
func BatchRules(version string, window time.Duration) []client.BatchRule {
	keys := append([]string{"id"}, slices.Compact(slices.Sorted(maps.Values(DuplicateCheckFields)))...)
	routes := RecordWriteRoutes(version)
	rule := func(route string, success int, keyFields []string) client.BatchRule {
		return client.BatchRule{Route: route, Member: "data", MaxRecords: MaxRecords, Window: window,
			KeyFields: keyFields, Success: success}
	}
	return []client.BatchRule{rule(routes[0], 201, keys), rule(routes[1], 200, []string{"id"}), rule(routes[2], 200, keys)}
}
