// Package zoho holds Zoho CRM's editions and credit-cost table as data, and
// the shape of its error bodies ([ErrorBodies], for middleware.WithErrorBodies).
//
// Figures come from the project's fact sheet (reference/credit-limits.md), which
// cites Zoho's pages. Where Zoho's own text does not confirm a figure, the code
// says "unconfirmed"; replace such a route with cost.Override, e.g.
//
//	routes := cost.Override(zoho.Routes("v8"),
//		cost.Route{Pattern: "GET /crm/v8/{module}/search", Cost: 3})
package zoho
