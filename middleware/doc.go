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
//     shape, such as profile/zoho's); the wrapped handler never runs;
//   - admitted: the limit headers ([HeaderLimit], [HeaderRemaining],
//     [HeaderReset], [HeaderCreditsRemaining] past half the pool, optionally
//     the IETF RateLimit fields), then the wrapped handler; the slots are
//     released when it returns, panics or sees its client go away, 5xx
//     responses are refunded, and [ReportCost], called with the handler's
//     ResponseWriter, settles a cost known only at the end.
//
// [WithShadow] tries a limit on live traffic without refusing anything. Usage
// statistics (by application, module, IP, user and method) and alerts are
// the limiter's (limiter.WithUsage, limiter.WithAlerts); [Dashboard] shows
// them. [ParseHeaders] reads the limit headers on the client side.
package middleware
