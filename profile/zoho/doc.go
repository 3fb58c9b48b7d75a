// Package zoho holds Zoho CRM's editions and credit-cost table as data, the
// shape of its error bodies ([ErrorBodies], for middleware.WithErrorBodies),
// and the client Transport's saving rules for it ([CacheRules] for its
// metadata, [CoalesceRules], [BatchRules] for its record writes).
//
// Figures come from the project's fact sheet (docs/credit-limits.md in the
// repository), which cites Zoho's pages: the API limits pages of each
// version and its Kaizen posts on credits. Where Zoho's own text does not confirm a figure, the code
// says "unconfirmed"; replace such a route with cost.Override, e.g.
//
//	routes := cost.Override(zoho.Routes("v8"),
//		cost.Route{Pattern: "GET /crm/v8/{module}/search", Cost: 3})
package zoho
