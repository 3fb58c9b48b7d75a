// Package limiter admits requests to a credit-metered API: keyed tenants
// (the pool owners) and their applications, each request all or nothing.
//
// A [Plan] says a tenant's credit pool (a rolling or calendar window), its
// concurrency cap per application and its sub-concurrency caps per API
// class. [Limiter.Acquire] admits a request, taking one application slot,
// one class slot and its credits, and returns a [Ticket] whose Release gives
// the slots back and whose Settle turns the reserved credits into the real
// cost. Alerts fire once per crossing of a usage threshold; usage statistics
// go to a [usage.Stats].
//
// State lives in a store (package store): the in-memory one (store/memory)
// by default, or a shared one such as store/redis for a fleet; the limiter
// reaches it only through the store.Store contract, so every feature works
// over every store.
package limiter
