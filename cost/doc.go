// Package cost prices HTTP requests in credits: a table of routes in
// [net/http.ServeMux] pattern syntax (most specific wins), each with a constant
// cost or a [Pricer] that prices from the request (records in a JSON body, a
// query parameter), and an optional API class for sub-concurrency caps.
//
// [Table.Lookup] prices a request in one call; [Table.Match] and
// [Table.PriceBody] split it so that a server can admit a request (its
// slots and least cost) before reading its body. A path that routers may
// read differently (unclean, escaped, or matching only case-insensitively)
// or run as another method (a method override header, a POST's _method
// query parameter) is priced as the dearest route it may reach, and flagged
// in [Price.Unclean].
//
// The same table serves the server middleware (what to charge) and the client
// transport (what a call will cost before it is sent).
package cost
