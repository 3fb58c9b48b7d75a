// Package usage keeps API usage statistics like Zoho's API dashboard:
// credits, calls and refusals per tenant by application, module, IP, user and
// method, and broken down for drilling in (an application's users, IPs,
// modules and methods; a user's IPs and modules), in hour buckets over a
// retention period, with bounded memory.
// A limiter given [Stats] (limiter.WithUsage) records every decision into
// it; the middleware's dashboard reads it.
package usage
