// Package middleware adapts package limiter to net/http: an http.Handler that
// enforces credit limits on the server side, the limit headers and their
// parser, and a read-only usage dashboard.
//
// [New] wraps any http.Handler (ServeMux, chi, anything that speaks net/http).
// For each request it asks the cost table what the request costs and which API
// class it belongs to, names the caller with key functions ([Keys]: tenant,
// application, user, client IP; see [DefaultTenant], [DefaultApp],
// [DefaultUser], [ClientIP]) and lets the limiter admit it, all or nothing:
//
//   - refused: 429 with Retry-After, the limit headers and a body saying
//     which limit refused it and what the request would have cost ([Refusal];
//     RFC 9457 problem details unless [WithErrorBodies] gives a vendor's
//     shape, such as profile/zoho's); the wrapped handler never runs. A
//     request that costs more than the whole pool gets 403 instead, by
//     [ByCost], with no Retry-After: no wait admits it; so does one that
//     takes more units of its application's concurrency cap than the cap
//     (a composite of 5 under a cap of 3), by [ByUnits];
//   - admitted: the limit headers ([HeaderLimit], [HeaderRemaining],
//     [HeaderReset], [HeaderCreditsRemaining] from half the allowance used:
//     the pool less the plan's add-on credits, store.Plan.AddOns; optionally
//     the IETF RateLimit fields), then the wrapped handler; the slots are
//     released when it returns, panics or sees its client go away, 5xx
//     responses are refunded, and [ReportCost], called with the handler's
//     ResponseWriter, settles a cost known only at the end.
//
// [WithShadow] tries a limit on live traffic without refusing anything. Usage
// statistics (by application, module, IP, user and method) and alerts are
// the limiter's (limiter.WithUsage, limiter.WithAlerts); [Dashboard] shows
// them like Zoho's API dashboard (periods in the account's time zone,
// drill-down, operator and tenant tokens, the crossings an [AlertLog]
// keeps, CSV), and [DashboardOf] shows any other source of them.
// [ParseHeaders] reads the limit headers on the client side.
//
// # Deployment
//
// A request holds its application's concurrency slot while the wrapped
// handler runs, and a handler runs as long as its connection lets it: a client
// that never reads a 50 MB response keeps the handler blocked in Write, and
// the slot taken, while the connection lives. Serve the middleware with an
// [http.Server] whose timeouts end such connections (as the Server example does):
//
//   - ReadHeaderTimeout, a few seconds: a client that trickles its headers;
//   - ReadTimeout: the whole request, body included; it bounds how long a
//     stalled body holds its share of the pricing budget ([WithPricingBudget]);
//   - WriteTimeout: from the end of the headers to the end of the response;
//     it bounds how long a client that does not read holds a slot, so set it
//     above the slowest legitimate response (a streaming handler extends it
//     per write with [http.ResponseController.SetWriteDeadline]);
//   - IdleTimeout: keep-alive connections between requests.
package middleware
