// Package cost prices HTTP requests in credits: a table of routes in
// [net/http.ServeMux] pattern syntax (most specific wins), each with a constant
// cost or a function of the request (records in a JSON body, a query
// parameter), and an optional API class for sub-concurrency caps.
//
// The same table serves the server middleware (what to charge) and the client
// transport (what a call will cost before it is sent).
package cost
